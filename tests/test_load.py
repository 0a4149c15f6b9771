"""load_sources() / read_manifest(): formats, ids, metadata, and skipping bad input without raising."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from groundedqa.ingest.load import META_KEYS, iter_sources, load_sources, read_manifest, safe_doc_id
from groundedqa.ingest.models import SourceDoc

MEDQUAD = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "medquad" / "corpus.jsonl"


def _write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_each_file_type_loads_with_its_format_and_stem_id(tmp_path):
    _write(tmp_path / "a.txt", "Plain article.")
    _write(tmp_path / "b.md", "# Markdown article")
    _write(tmp_path / "c.markdown", "Also markdown.")
    _write(tmp_path / "d.html", "<p>HTML article.</p>")
    _write(tmp_path / "e.HTM", "<p>Upper-case extension.</p>")
    docs, skipped = load_sources([tmp_path])
    assert [(d.doc_id, d.format) for d in docs] == [
        ("a", "text"),
        ("b", "markdown"),
        ("c", "markdown"),
        ("d", "html"),
        ("e", "html"),
    ]
    assert skipped == []
    assert docs[0].raw == "Plain article." and docs[0].source == str(tmp_path / "a.txt")


def test_stem_doc_ids_are_lowercase_and_safe():
    assert safe_doc_id("Back Pain – FAQ (2024)!") == "back-pain-faq-2024"
    assert safe_doc_id("Über_Knie.v2") == "uber_knie.v2"
    assert safe_doc_id("???") == "doc"


def test_folder_walk_is_recursive_sorted_and_ignores_hidden_and_config_files(tmp_path):
    _write(tmp_path / "b" / "z.txt", "Nested article.")
    _write(tmp_path / "a.txt", "Top article.")
    _write(tmp_path / ".draft.txt", "Hidden draft.")
    _write(tmp_path / ".git" / "notes.txt", "Not an article.")
    _write(tmp_path / "manifest.toml", "")
    _write(tmp_path / "redflags.toml", "disclaimer = 'x'")
    _write(tmp_path / "README.md", "# About this folder")
    _write(tmp_path / "stats.csv", "a,b")
    docs, skipped = load_sources([tmp_path])
    assert [d.doc_id for d in docs] == ["a", "z"]
    assert skipped == []


def test_a_single_file_path_is_loaded(tmp_path):
    path = _write(tmp_path / "Shoulder Pain.txt", "Shoulder pain is common.")
    docs, _ = load_sources([path])
    assert [d.doc_id for d in docs] == ["shoulder-pain"]


def test_jsonl_gives_one_doc_per_record_with_metadata_and_line_source(tmp_path):
    records = [
        {
            "_id": "q1",
            "title": "Gout",
            "text": "Gout is arthritis.",
            "metadata": {"url": "https://x.org/gout"},
        },
        {"_id": "q2", "title": "Sciatica", "html": "<p>Sciatica is nerve pain.</p>", "metadata": {}},
    ]
    path = _write(tmp_path / "corpus.jsonl", "\n".join(json.dumps(r) for r in records) + "\n\n")
    docs, skipped = load_sources([path])
    assert skipped == []
    assert [(d.doc_id, d.format, d.source) for d in docs] == [
        ("q1", "text", f"{path}:1"),
        ("q2", "html", f"{path}:2"),
    ]
    assert docs[0].metadata["title"] == "Gout" and docs[0].metadata["url"] == "https://x.org/gout"
    assert docs[0].metadata["publisher"] is None


def test_bad_jsonl_lines_are_skipped_with_their_line_number(tmp_path):
    lines = [
        json.dumps({"_id": "ok", "text": "Fine."}),
        "{not json",
        json.dumps({"title": "no id", "text": "Orphan."}),
        json.dumps({"_id": "empty", "text": "   "}),
        json.dumps(["a", "list"]),
    ]
    path = _write(tmp_path / "c.jsonl", "\n".join(lines))
    docs, skipped = load_sources([path])
    assert [d.doc_id for d in docs] == ["ok"]
    assert [(s.source, s.reason) for s in skipped] == [
        (f"{path}:2", "invalid JSON on line 2"),
        (f"{path}:3", "missing _id on line 3"),
        (f"{path}:4", "no text on line 4"),
        (f"{path}:5", "not a JSON object on line 5"),
    ]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", "  \n\t\n", "empty"),
        ("zero.md", b"", "empty"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        ("controls.txt", b"ab\x01\x02\x03\x04\x05\x06cd", "binary file"),
        ("latin1.txt", "Schulterschmerz: Übungen für zu Hause".encode("latin-1"), "not UTF-8 text"),
        ("utf16.txt", "Knee pain".encode("utf-16"), "not UTF-8 text (UTF-16/32)"),
        ("paper.pdf", b"<html>saved web page</html>", "not a PDF file (no %PDF- header)"),
        ("empty.pdf", b"", "empty"),
        ("letter.docx", b"plain text renamed", "not a Word .docx file (not a ZIP package)"),
        ("old.doc", b"\xd0\xcf\x11\xe0", "legacy Word .doc is not supported: save it as .docx"),
        ("noext", "Text without an extension.", "unsupported extension (none)"),
    ],
)
def test_unusable_files_are_skipped_with_a_reason(tmp_path, name, content, reason):
    _write(tmp_path / name, content)
    _write(tmp_path / "good.txt", "A usable article.")
    docs, skipped = load_sources([tmp_path])
    assert [d.doc_id for d in docs] == ["good"]
    assert [(s.source, s.reason) for s in skipped] == [(str(tmp_path / name), reason)]


def test_pdf_and_docx_load_as_bytes_for_their_parser(tmp_path):
    _write(tmp_path / "leaflet.pdf", b"%PDF-1.7\n...")
    _write(tmp_path / "letter.docx", b"PK\x03\x04...")
    docs, skipped = load_sources([tmp_path])
    assert [(d.doc_id, d.format, d.raw) for d in docs] == [
        ("leaflet", "pdf", b"%PDF-1.7\n..."), ("letter", "docx", b"PK\x03\x04...")]
    assert skipped == []


def test_utf8_byte_order_mark_is_accepted_and_removed(tmp_path):
    _write(tmp_path / "bom.txt", "\ufeffHip pain.".encode())
    docs, _ = load_sources([tmp_path])
    assert docs[0].raw == "Hip pain."


def test_duplicate_doc_ids_keep_the_first_and_skip_the_rest(tmp_path):
    _write(tmp_path / "Neck.txt", "First.")
    _write(tmp_path / "neck.md", "Second.")
    _write(tmp_path / "x.jsonl", json.dumps({"_id": "neck", "text": "Third."}))
    docs, skipped = load_sources([tmp_path])
    assert [d.source for d in docs] == [str(tmp_path / "Neck.txt")]
    first = f"(first in {tmp_path / 'Neck.txt'})"
    assert [s.reason for s in skipped] == [f"duplicate doc id 'neck' {first}"] * 2


def test_missing_path_raises_file_not_found_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_sources([tmp_path / "nowhere"])


def test_explicit_config_file_is_reported_not_loaded(tmp_path):
    path = _write(tmp_path / "manifest.toml", "")
    docs, skipped = load_sources([path], manifest={})
    assert docs == [] and [s.reason for s in skipped] == ["not an article file"]


MANIFEST = """
[[documents]]
file = "knee.txt"
doc_id = "knee-oa-guide"
title = "Knee OA Guide"
date = 2024-03-01
question = "What helps knee OA?"
"""


def test_read_manifest_fills_unknown_keys_with_none_and_keeps_extras(tmp_path):
    _write(tmp_path / "manifest.toml", MANIFEST)
    entry = read_manifest(tmp_path)["knee.txt"]
    assert entry["doc_id"] == "knee-oa-guide" and entry["title"] == "Knee OA Guide"
    assert entry["date"] == "2024-03-01"  # a TOML date, as an ISO string
    assert entry["question"] == "What helps knee OA?"
    assert all(
        entry[key] is None for key in ("publisher", "author", "url", "doc_type", "language", "license")
    )


def test_manifest_doc_id_and_metadata_are_applied(tmp_path):
    _write(tmp_path / "manifest.toml", MANIFEST)
    _write(tmp_path / "knee.txt", "Knee article.")
    _write(tmp_path / "hip.txt", "Hip article.")
    docs, _ = load_sources([tmp_path], read_manifest(tmp_path))
    knee, hip = sorted(docs, key=lambda d: d.doc_id)[::-1]
    assert knee.doc_id == "knee-oa-guide" and knee.metadata["title"] == "Knee OA Guide"
    assert knee.metadata["publisher"] is None
    assert hip.doc_id == "hip" and hip.metadata == dict.fromkeys(META_KEYS)


def test_folder_manifest_is_read_when_none_is_given(tmp_path):
    _write(tmp_path / "manifest.toml", MANIFEST)
    _write(tmp_path / "knee.txt", "Knee article.")
    docs, _ = load_sources([tmp_path])
    assert docs[0].doc_id == "knee-oa-guide"


def test_file_given_directly_uses_the_manifest_beside_it(tmp_path):
    _write(tmp_path / "manifest.toml", MANIFEST)
    path = _write(tmp_path / "knee.txt", "Knee article.")
    docs, _ = load_sources([path])
    assert docs[0].doc_id == "knee-oa-guide"


def test_manifest_entry_whose_file_is_missing_is_reported(tmp_path):
    _write(tmp_path / "manifest.toml", MANIFEST)
    _write(tmp_path / "hip.txt", "Hip article.")
    docs, skipped = load_sources([tmp_path])
    assert [d.doc_id for d in docs] == ["hip"]
    assert [(s.source, s.reason) for s in skipped] == [
        (str(tmp_path / "knee.txt"), "listed in manifest.toml but not found")
    ]


def test_folder_without_manifest_reads_as_empty(tmp_path):
    assert read_manifest(tmp_path) == {}


def test_invalid_manifest_raises_value_error_naming_the_file(tmp_path):
    _write(tmp_path / "manifest.toml", "[[documents]\nfile = ")
    with pytest.raises(ValueError, match=r"manifest\.toml"):
        read_manifest(tmp_path)


def test_manifest_entry_without_file_is_rejected(tmp_path):
    _write(tmp_path / "manifest.toml", "[[documents]]\ndoc_id = 'x'\n")
    with pytest.raises(ValueError, match="entry 1 has no 'file'"):
        read_manifest(tmp_path)


def test_iter_sources_streams_docs_and_skips_in_order(tmp_path):
    _write(tmp_path / "a.txt", "Article.")
    _write(tmp_path / "b.txt", "")
    items = list(iter_sources([tmp_path]))
    assert [type(i).__name__ for i in items] == ["SourceDoc", "Skipped"]


@pytest.mark.skipif(not MEDQUAD.is_file(), reason="MedQuAD corpus not present")
def test_medquad_corpus_loads_every_answer():
    docs, skipped = load_sources([MEDQUAD])
    assert len(docs) == 16373 and skipped == []
    assert all(isinstance(d, SourceDoc) and d.format == "text" for d in docs[:100])
    assert docs[0].metadata["title"] and docs[0].source == f"{MEDQUAD}:1"
