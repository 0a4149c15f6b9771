"""The ingest pipeline: sources -> clean -> segment -> chunk -> embed -> a published index build."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from filelock import FileLock, Timeout

from groundedqa.errors import IngestError
from groundedqa.index.builds import (
    default_backend,
    IndexMissing,
    IndexUnavailable,
    builds_dir,
    has_checksums,
    new_build_id,
    open_build,
    open_index,
    prune_builds,
    publish,
    write_build,
)
from groundedqa.index.encoders import expected_model, load_encoder, same_encoder
from groundedqa.index.pooling import normalize, span_vector
from groundedqa.index.ports import Encoder, IndexBackend, LoadedIndex
from groundedqa.index.records import DocData
from groundedqa.index.withdrawals import WithdrawalError, read_withdrawals
from groundedqa.ingest import chunk as chunk_mod
from groundedqa.ingest import clean as clean_mod
from groundedqa.ingest import load as load_mod
from groundedqa.ingest import segment as segment_mod
from groundedqa.ingest.blocks import UnreadableSource
from groundedqa.ingest.models import Skipped, SourceDoc, Span
from groundedqa.ingest.sentence_kinds import classify_spans
from groundedqa.settings import Settings

#: Texts are embedded in slices of this many (sorted by length, so each slice pads little).
EMBED_SLICE = 2048
#: Bump when a change to loading, cleaning, segmenting, classifying or chunking changes what a
#: document becomes:
#: every document is then re-embedded. (Hashing the code instead would re-embed a 16k-article
#: corpus for a comment fix.)
PIPELINE_VERSION = 5


@dataclass
class BuildReport:
    """What a build did: the ingest summary and the benchmark's raw figures."""

    build_id: str | None
    changed: bool
    documents: int = 0
    passages: int = 0
    sentences: int = 0
    embedded_documents: int = 0
    reused_documents: int = 0
    removed_documents: int = 0
    embedded_passages: int = 0
    embedded_sentences: int = 0
    embedded_titles: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    embedded_texts: list[str] | None = None
    notes: list[str] = field(default_factory=list)
    plan: IngestPlan | None = None
    kept_documents: int = 0


@dataclass
class IngestPlan:
    """What an ingest does to the index, by document id (sorted)."""

    sync: bool
    add: list[str] = field(default_factory=list)  # given, not indexed
    update: list[str] = field(default_factory=list)  # given, indexed with other content
    unchanged: list[str] = field(default_factory=list)  # given, indexed (or skipped) as they are
    keep: list[str] = field(default_factory=list)  # indexed, not given, kept (without --sync)
    remove: list[str] = field(default_factory=list)  # indexed, not given, removed (--sync)

    @property
    def changes(self) -> bool:
        return bool(self.add or self.update or self.remove)


def pipeline_fingerprint(settings: Settings) -> dict[str, Any]:
    """Identifies how texts were cut: a new version or other chunk settings re-embed everything."""
    return {
        "version": PIPELINE_VERSION,
        "passage_max_chars": settings.passage_max_chars,
        "passage_overlap_sentences": settings.passage_overlap_sentences,
    }


def content_hash(doc: SourceDoc, pipeline: dict[str, Any]) -> str:
    """Hash of what determines a document's records: its bytes, format, metadata and the pipeline."""
    digest = hashlib.sha256()
    digest.update(json.dumps(pipeline, sort_keys=True).encode())
    digest.update(doc.format.encode())
    digest.update(json.dumps(doc.metadata, sort_keys=True, default=str).encode())
    digest.update(doc.raw if isinstance(doc.raw, bytes) else doc.raw.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def prepare(doc: SourceDoc, settings: Settings, chash: str) -> DocData | Skipped:
    """Clean, segment, classify and chunk one source document (no vectors yet)."""
    try:
        cleaned = clean_mod.clean(doc.raw, doc.format)
    except UnreadableSource as exc:  # a PDF without text, a broken .docx: skipped with the reason
        return Skipped(doc.source, str(exc))
    # Non-content kinds first: "you might be wondering: Can I still work out?" is meta, not a question.
    spans = classify_spans(segment_mod.segment_doc(cleaned), cleaned, publisher=doc.metadata.get("publisher"))
    spans = [_mark_question(s) for s in spans]
    if not any(s.kind == "sentence" for s in spans):
        return Skipped(doc.source, "no article text left after cleaning")
    title = (doc.metadata.get("title") or cleaned.title or doc.doc_id).strip()
    chunks = chunk_mod.chunk(
        cleaned, spans, title=title,
        max_chars=settings.passage_max_chars, overlap=settings.passage_overlap_sentences,
    )
    metadata = {k: v for k, v in doc.metadata.items() if k != "title"}
    return DocData(
        doc_id=doc.doc_id, title=title, text=cleaned.text, metadata=metadata,
        references=list(cleaned.references), content_hash=chash, source=doc.source,
        pages=list(cleaned.pages), spans=spans, chunks=chunks,
        block_kinds=[b.kind for b in cleaned.blocks],
        skipped_parts=[Skipped(doc.source, note) for note in cleaned.notes],
    )


def _mark_question(span: Span) -> Span:
    # An article's own questions ("What is a pinched nerve?") introduce answers; they are not
    # answers, so they stay quotable in context but are never picked for an answer.
    if span.kind == "sentence" and span.text.endswith("?"):
        span.kind = "question"
    return span


def sentence_embed_texts(doc: DocData) -> list[tuple[int, str]]:
    """(span index, text to embed) for each answerable sentence of `doc`: the sentence alone, so
    its vector measures what it says; its section's topic reaches the score via its passage."""
    return [(i, span.text) for i, span in enumerate(doc.spans) if span.kind == "sentence"]


def build_index(
    paths: list[Path],
    index_dir: Path,
    settings: Settings,
    *,
    embedder: Encoder | None = None,
    progress: Any = None,
    keep_texts: bool = False,
    before_publish: Callable[[Path], None] | None = None,
    backend: IndexBackend | None = None,
    sync: bool = False,
    dry_run: bool = False,
    on_plan: Callable[[IngestPlan], None] | None = None,
    on_publish: Callable[[str, list[DocData]], None] | None = None,
) -> BuildReport:
    """Add or update the documents of `paths` in the index at `index_dir`, publish atomically.

    The other documents of the live build stay as they are; with `sync`, the index is made to
    match `paths` exactly, and documents not among them leave it. Documents whose content hash
    matches the live build are reused with their vectors; only new or changed ones are embedded.
    When nothing changed, no build is written; with `dry_run`, nothing at all (the report's
    `plan` says what would happen). `on_plan` is called with the plan before anything is
    written. `progress` is a rich Progress (or None for silence).
    `before_publish` is a test hook called with the finished build directory. `embedder` is
    the encoder (default: the one the settings configure, loaded only when something changed);
    `backend` the index engine (default: FAISS + bm25s). `on_publish(build_id, docs)` is called
    once a build is live, with every document it holds (the clinic records their versions).
    """
    t0 = time.perf_counter()
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    options = _Options(keep_texts, before_publish, backend, sync, dry_run, settings.keep_builds,
                       on_plan, on_publish)
    try:
        lock = FileLock(str(index_dir / ".lock"), timeout=0)
        with lock:
            return _build_locked(paths, index_dir, settings, embedder, progress, options, t0)
    except Timeout as exc:
        raise IngestError(f"another ingest is writing {index_dir}; try again when it finishes") from exc


@dataclass(frozen=True)
class _Options:
    keep_texts: bool
    before_publish: Callable[[Path], None] | None
    backend: IndexBackend | None
    sync: bool
    dry_run: bool
    keep_builds: int
    on_plan: Callable[[IngestPlan], None] | None
    on_publish: Callable[[str, list[DocData]], None] | None


def _build_locked(paths: list[Path], index_dir: Path, settings: Settings, embedder: Encoder | None,
                  progress: Any, options: _Options, t0: float) -> BuildReport:
    report = BuildReport(build_id=None, changed=False)
    timings = report.timings
    pipeline = pipeline_fingerprint(settings)
    expected = embedder.describe() if embedder is not None else expected_model(settings)

    t = time.perf_counter()
    sources, skipped = _load(paths)
    report.skipped.extend(skipped)
    timings["load_s"] = time.perf_counter() - t

    old = _open_previous(index_dir, report, options)
    try:
        return _build_from(sources, old, pipeline, expected, index_dir, settings, embedder,
                           progress, options, report, t0)
    finally:
        if old is not None:
            old.close()


def _build_from(sources: list[SourceDoc], old: LoadedIndex | None, pipeline: dict[str, Any],
                expected: dict[str, Any], index_dir: Path, settings: Settings, embedder: Encoder | None,
                progress: Any, options: _Options, report: BuildReport, t0: float) -> BuildReport:
    timings = report.timings
    backend = options.backend
    old_ok = (
        old is not None
        and old.manifest.get("pipeline") == pipeline
        and same_encoder(old.manifest.get("model", {}), expected)
    )
    if old is not None and not old_ok and not options.sync:
        # The documents not given here could only be kept by re-embedding them, from files
        # this ingest does not have.
        raise IngestError(
            f"the index at {index_dir} was built with another model or chunking: ingest the "
            "whole corpus with `groundedqa ingest --sync CORPUS_DIR` to rebuild it"
        )
    # A build from before title vectors or checksums is reused, but rewritten with them.
    old_complete = old_ok and old.store.title_vectors() is not None and has_checksums(old.manifest)
    old_hashes: dict[str, str] = old.manifest.get("documents", {}) if old_ok else {}
    # Documents the last build skipped, by hash, so that an unchanged corpus is recognised unread.
    old_skips: dict[str, dict[str, str]] = old.manifest.get("skipped", {}) if old_ok else {}
    hashes = {src.doc_id: content_hash(src, pipeline) for src in sources}
    plan = plan_ingest(hashes, old_hashes, old_skips, sync=options.sync)
    report.plan = plan
    report.removed_documents = len(plan.remove)
    report.kept_documents = len(plan.keep)
    report.notes.extend(_withdrawn_notes(index_dir, hashes))
    if not sources:
        raise IngestError("no documents to index (every source was skipped); the live index is untouched")
    if options.on_plan is not None:
        options.on_plan(plan)
    # With --sync, skip records of files no longer given go; otherwise they stay with the kept.
    dropped_skips = options.sync and any(d not in hashes for d in old_skips)
    if options.dry_run:
        report.notes.append("dry run: nothing was written")
        report.seconds = time.perf_counter() - t0
        return report
    if old_complete and not plan.changes and not dropped_skips:
        # Nothing new, changed, removed or skipped anew: answer without reading 16k stored
        # documents back. Past this point, something differs and a new build is written.
        report.skipped.extend(Skipped(s["source"], s["reason"]) for d, s in old_skips.items()
                              if d in hashes)
        return _up_to_date(report, old, t0)

    t = time.perf_counter()
    docs: list[DocData] = []
    fresh: list[DocData] = []
    skips: dict[str, dict[str, str]] = {} if options.sync else {
        d: s for d, s in old_skips.items() if d not in hashes}
    reuse = (backend or default_backend()).reuse
    task = progress.add_task("clean + segment", total=len(sources)) if progress else None
    for src in sources:
        chash = hashes[src.doc_id]
        if old_hashes.get(src.doc_id) == chash:
            docs.append(reuse(old, src.doc_id))
            report.reused_documents += 1
        else:
            prepared = _prepare_safely(src, settings, chash)
            if isinstance(prepared, Skipped):
                report.skipped.append(prepared)
                skips[src.doc_id] = {"hash": chash, "source": prepared.source, "reason": prepared.reason}
                if src.doc_id in old_hashes and not options.sync:
                    # Bad input never loses anything: the indexed version stays.
                    docs.append(reuse(old, src.doc_id))
                    report.reused_documents += 1
                    report.notes.append(f"kept the indexed version of {src.doc_id}: the new one "
                                        f"was skipped ({prepared.reason})")
            else:
                docs.append(prepared)
                fresh.append(prepared)
                report.skipped.extend(prepared.skipped_parts)  # e.g. a scanned page of a PDF
        if progress:
            progress.advance(task)
    for doc_id in plan.keep:
        docs.append(reuse(old, doc_id))
    timings["prepare_s"] = time.perf_counter() - t

    if not fresh and not any(d.doc_id in hashes for d in docs):
        raise IngestError("no documents to index (every source was skipped); the live index is untouched")

    embedder = embedder or load_encoder(settings)
    t = time.perf_counter()
    untitled = [d for d in docs if d.title_vector is None]
    texts = _embed_fresh(fresh, untitled, embedder, progress, settings.late_chunking)
    timings["embed_s"] = time.perf_counter() - t
    report.embedded_documents = len(fresh)
    report.embedded_passages = sum(len(d.chunks) for d in fresh)
    report.embedded_titles = len(untitled)
    if len(untitled) > len(fresh):
        report.notes.append(f"title vectors added to {len(untitled) - len(fresh)} reused documents "
                            "(their build predates them)")
    report.embedded_sentences = len(texts) - report.embedded_passages - len(untitled)
    if settings.late_chunking and hasattr(embedder, "token_states"):
        pooled = sum(len(sentence_embed_texts(d)) for d in fresh) - report.embedded_sentences
        report.notes.append(f"late chunking: {pooled} sentence vectors pooled from their passages, "
                            f"{report.embedded_sentences} encoded alone (past the token limit)")
    if options.keep_texts:
        report.embedded_texts = texts

    t = time.perf_counter()
    build_id = new_build_id()
    tmp_dir = builds_dir(index_dir) / f"tmp-{build_id}"
    try:
        write_build(
            tmp_dir, docs, model=embedder.describe(), pipeline=pipeline, build_id=build_id,
            skipped=skips, backend=backend,
        )
        if options.before_publish is not None:
            options.before_publish(tmp_dir)
        final_dir = builds_dir(index_dir) / build_id
        tmp_dir.rename(final_dir)
        # Never publish what cannot be loaded (the checksums were taken from these very files).
        open_build(final_dir, backend=backend, check_content=False).close()
        publish(index_dir, build_id)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    if options.on_publish is not None:
        try:
            options.on_publish(build_id, docs)
        except Exception as exc:  # noqa: BLE001 - the build is live; say what was not recorded
            report.notes.append(f"published, but its document versions were not recorded: {exc}")
    prune_builds(index_dir, keep=options.keep_builds)
    timings["write_s"] = time.perf_counter() - t

    report.build_id = build_id
    report.changed = True
    _fill_counts(report, docs)
    report.seconds = time.perf_counter() - t0
    return report


def plan_ingest(hashes: dict[str, str], indexed: dict[str, str],
                skipped: dict[str, dict[str, str]], *, sync: bool) -> IngestPlan:
    """Sort the given documents (`hashes`: id -> content hash) against the indexed ones."""
    plan = IngestPlan(sync=sync)
    for doc_id, chash in sorted(hashes.items()):
        if indexed.get(doc_id) == chash or skipped.get(doc_id, {}).get("hash") == chash:
            plan.unchanged.append(doc_id)
        elif doc_id in indexed:
            plan.update.append(doc_id)
        else:
            plan.add.append(doc_id)
    others = sorted(d for d in indexed if d not in hashes)
    if sync:
        plan.remove = others
    else:
        plan.keep = others
    return plan


def _withdrawn_notes(index_dir: Path, given: dict[str, str]) -> list[str]:
    """Say which given documents are withdrawn: they are indexed, but no answer quotes them
    until they are restored (the withdrawal outlives builds)."""
    try:
        withdrawn = read_withdrawals(index_dir)
    except WithdrawalError as exc:
        return [str(exc)]
    return [f"{doc_id} is withdrawn (by {w.by} on {w.at}: {w.reason or 'no reason given'}): "
            f"indexed, but not quoted until `groundedqa restore {doc_id}`"
            for doc_id, w in sorted(withdrawn.items()) if doc_id in given]


def _load(paths: list[Path]) -> tuple[list[SourceDoc], list[Skipped]]:
    # Each folder's (or file's) own manifest.toml: a file named alone keeps its id and metadata.
    return load_mod.load_sources([Path(p) for p in paths])


def _open_previous(index_dir: Path, report: BuildReport, options: _Options) -> LoadedIndex | None:
    """The live build, for reuse; None when there is none or (with --sync) it cannot be read."""
    try:
        return open_index(index_dir, backend=options.backend)
    except IndexMissing:
        return None
    except IndexUnavailable as exc:
        if not options.sync:
            # Adding to an index that cannot be read would publish the new documents alone.
            raise IngestError(
                f"the live index cannot be read, so documents cannot be added to it ({exc}); "
                "rebuild it from the whole corpus with `groundedqa ingest --sync CORPUS_DIR`"
            ) from exc
        report.notes.append(f"previous index not reused ({exc})")
        return None


def _prepare_safely(src: SourceDoc, settings: Settings, chash: str) -> DocData | Skipped:
    # One odd document must not sink a 16k-document build: it is skipped with the reason.
    try:
        return prepare(src, settings, chash)
    except Exception as exc:  # noqa: BLE001 - reported per document in the summary
        return Skipped(src.source, f"could not be processed: {type(exc).__name__}: {exc}")


def _embed_fresh(fresh: list[DocData], untitled: list[DocData], embedder: Encoder,
                 progress: Any, late_chunking: bool = False) -> list[str]:
    """Embed passages and sentences of the fresh documents, and the titles of `untitled` ones
    (the fresh, and any reused from a build without title vectors); return the texts embedded.

    With `late_chunking` (and an encoder that exposes token states) each passage is read once and
    its sentences' vectors are pooled from its token states; only a sentence that the model's
    token limit cut out of every passage holding it is encoded on its own.
    """
    passage_texts = [c.embed_text for d in fresh for c in d.chunks]
    sentence_items = [(d, i, text) for d in fresh for i, text in sentence_embed_texts(d)]
    for d in fresh:
        d.sentence_vectors = np.zeros((len(d.spans), embedder.dimension), dtype=np.float16)
    late = late_chunking and hasattr(embedder, "token_states")
    task = progress.add_task("embed", total=len(passage_texts)) if progress else None

    def advance(n: int) -> None:
        if progress:
            progress.advance(task, n)

    if late:
        passage_vectors, pooled = encode_late(
            passage_texts, [_sentence_windows(d, c) for d in fresh for c in d.chunks], embedder, advance)
        alone = _place_pooled(fresh, pooled, sentence_items)
        texts = passage_texts + [text for _, _, text in alone] + [d.title for d in untitled]
        if progress:
            progress.update(task, total=len(texts))
        rest = encode_sorted(texts[len(passage_texts):], embedder, advance=advance)
        vectors = np.concatenate([passage_vectors, rest])
    else:
        alone = sentence_items
        texts = passage_texts + [text for _, _, text in alone] + [d.title for d in untitled]
        if progress:
            progress.update(task, total=len(texts))
        vectors = encode_sorted(texts, embedder, advance=advance)

    row = 0
    for d in fresh:
        d.passage_vectors = vectors[row:row + len(d.chunks)]
        row += len(d.chunks)
    for d, i, _ in alone:
        d.sentence_vectors[i] = vectors[row]
        row += 1
    for d in untitled:
        d.title_vector = vectors[row].astype(np.float16)
        row += 1
    return texts


def _sentence_windows(doc: DocData, chunk: Any) -> list[tuple[int, int, int]]:
    """(span index, start, end) of each answerable sentence of `chunk`, in characters of its
    embedded text (which ends with the passage's quoted text, after the title and headings)."""
    offset = len(chunk.embed_text) - (chunk.end - chunk.start)
    return [(i, offset + doc.spans[i].start - chunk.start, offset + doc.spans[i].end - chunk.start)
            for i in range(chunk.first_span, chunk.last_span + 1) if doc.spans[i].kind == "sentence"]


def _place_pooled(fresh: list[DocData], pooled: list[dict[int, np.ndarray]],
                  sentence_items: list[tuple[DocData, int, str]]) -> list[tuple[DocData, int, str]]:
    """Store each sentence's pooled vector (the mean over the passages holding it, when the overlap
    puts it in two); return the sentences no passage could pool (to be encoded alone)."""
    sums: dict[tuple[int, int], np.ndarray] = {}
    row = 0
    for n_doc, d in enumerate(fresh):
        for _ in d.chunks:
            for i, vector in pooled[row].items():
                key = (n_doc, i)
                sums[key] = vector if key not in sums else sums[key] + vector
            row += 1
    position = {id(d): n for n, d in enumerate(fresh)}
    alone = []
    for d, i, text in sentence_items:
        total = sums.get((position[id(d)], i))
        if total is None:
            alone.append((d, i, text))
        else:
            d.sentence_vectors[i] = normalize(total)
    return alone


def encode_late(texts: list[str], windows: list[list[tuple[int, int, int]]], embedder: Any,
                advance: Callable[[int], None] | None = None,
                ) -> tuple[np.ndarray, list[dict[int, np.ndarray]]]:
    """One forward pass per text: its vector (mean of its token states) and, for each
    (key, start, end) window of it, the unit mean of the token states inside those characters.

    A window the token limit cut off is left out of that text's dict. Token states are held for
    one slice of texts at a time, so memory stays flat on a large corpus.
    """
    vectors = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    pooled: list[dict[int, np.ndarray]] = [{} for _ in texts]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for s in range(0, len(order), EMBED_SLICE):
        idx = order[s:s + EMBED_SLICE]
        for i, tokens in zip(idx, embedder.token_states([texts[i] for i in idx])):
            vectors[i] = normalize(tokens.states.mean(axis=0))
            for key, start, end in windows[i]:
                vector = span_vector(tokens, start, end)
                if vector is not None:
                    pooled[i][key] = vector
        if advance:
            advance(len(idx))
    return vectors, pooled


def encode_sorted(texts: list[str], embedder: Encoder, progress: Any = None,
                  advance: Callable[[int], None] | None = None) -> np.ndarray:
    """Encode in length-sorted slices (little padding, visible progress), in the input order."""
    dim = embedder.dimension
    out = np.zeros((len(texts), dim), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    if progress and advance is None:
        task = progress.add_task("embed", total=len(texts))
        advance = lambda n: progress.advance(task, n)  # noqa: E731
    for s in range(0, len(order), EMBED_SLICE):
        idx = order[s:s + EMBED_SLICE]
        out[idx] = embedder.encode([texts[i] for i in idx])
        if advance:
            advance(len(idx))
    return out


def _up_to_date(report: BuildReport, old: LoadedIndex, t0: float) -> BuildReport:
    """The report of a build that changed nothing: the live build stands, counted from its store."""
    report.build_id = old.build_id
    report.documents = report.reused_documents = len(old.store.doc_ids)
    report.passages = old.dense.size
    rows = range(old.store.n_sentences)
    report.sentences = sum(kind == "sentence" for kind in old.store.sentence_kinds(rows))
    report.seconds = time.perf_counter() - t0
    report.notes.append("index is up to date: nothing embedded")
    return report


def _fill_counts(report: BuildReport, docs: list[DocData]) -> None:
    report.documents = len(docs)
    report.passages = sum(len(d.chunks) for d in docs)
    report.sentences = sum(1 for d in docs for s in d.spans if s.kind == "sentence")


def progress_context(enabled: bool):
    """A rich progress bar for the CLI, or a do-nothing context for tests and --quiet."""
    if not enabled:
        return nullcontext(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        transient=False,
    )
