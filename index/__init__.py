"""The index behind ports: encoders, dense and lexical search, the sentence store, and builds."""
