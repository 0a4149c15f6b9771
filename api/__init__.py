"""HTTP edge: the FastAPI answer service, its protection and the embeddable widget."""
