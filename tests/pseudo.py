"""Finding words that bypass the catalogs: in the pseudo-locale (``en_XA``) every
translated string is wrapped in ⟦…⟧, so whatever a page shows outside the markers,
apart from codes, names, numbers, dates and punctuation, was never translated
(issue 21, "a pseudo-locale renders every page for every role")."""

import io
import json
import re
from typing import Any

import pandas as pd
import pyarrow as pa
from streamlit.testing.v1 import AppTest

from dashboard import i18n

# an innermost marked string: removed repeatedly, so a marked sentence holding a marked word goes whole
MARKED = re.compile(f"{i18n.PSEUDO_OPEN}[^{i18n.PSEUDO_OPEN}{i18n.PSEUDO_CLOSE}]*{i18n.PSEUDO_CLOSE}")
# What may stand outside the markers: patient codes, instrument abbreviations, numbers,
# Babel's English dates and times (the pseudo-locale formats as English), markdown.
ALLOWED = [
    r"\b[A-Z]{1,4}-\d+\b",  # P-00042
    r"\b(?:PHQ-9|GAD-7|ISI|PDSS|OCI-R|SPIN|AUDIT|MADRS-S|WSAS|EPDS|K10|CORE-10|PCL-5)\b",
    r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\b",
    r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\b",
    r"\b(?:AM|PM|UTC|CSV|HTML|FHIR|JSON|GP|NHS)\b",
    r":material/[a-z_]+:",  # a Material icon in markdown
    r":[a-z]+-badge\[",  # a badge's colour: :orange-badge[...]
    r":[a-z]+(?:-background)?\[",  # coloured text: :red[...]
    r"\b[A-Z][a-z]+/[A-Z][A-Za-z_]+\b",  # the service time zone's name (Europe/Stockholm)
    r"\bclinical-reference(?: \d+(?:\.\d+)*)?",  # the document a criterion cites by name
    r"\d+",
]


# Published sources cited under their own names (clinical-reference's criteria and national figures).
SOURCES = {"NHS Talking Therapies"}


def shown_texts(at: AppTest) -> list[str]:
    """Every piece of text a page shows: headings, captions, alerts, markdown, widget
    labels and options, expanders, tabs, metrics and table column labels."""
    texts: list[str] = []
    for kind in ("title", "header", "subheader", "caption", "markdown", "info", "warning", "error", "success"):
        texts += [str(e.value) for e in getattr(at, kind)]
    for kind in ("button", "text_input", "text_area", "number_input", "date_input", "checkbox", "toggle"):
        texts += [str(w.label) for w in getattr(at, kind)]
    for kind in ("selectbox", "multiselect", "radio"):
        for widget in getattr(at, kind):
            texts.append(str(widget.label))
            texts += [str(option) for option in widget.options]
    texts += [str(e.proto.label) for e in at.get("download_button")]
    texts += [str(e.label) for e in at.expander]
    texts += [str(t.label) for t in at.tabs]
    texts += [str(m.label) for m in at.metric]
    for frame in at.dataframe:
        config = json.loads(frame.proto.columns or "{}")
        texts += [str(c["label"]) for c in config.values() if isinstance(c, dict) and c.get("label")]
        texts += table_cells(frame.value)
    for element in at.get("vega_lite_chart"):
        texts += chart_texts(element.proto)
    return texts


def chart_texts(proto: Any) -> list[str]:
    """A Vega-Lite chart's words: titles and subtitles, descriptions (its aria-label),
    encoding, axis, legend and tooltip titles, and the values its colour and shape
    legends name. Streamlit sends named datasets apart from the spec, as Arrow."""
    datasets = {d.name: pa.ipc.open_stream(io.BytesIO(d.data.data)).read_all().to_pylist() for d in proto.datasets}
    texts: list[str] = []

    def view(spec: dict, data: list[dict]) -> None:
        own = spec.get("data") or {}
        data = own.get("values") or datasets.get(own.get("name"), data)
        title = spec.get("title")
        if isinstance(title, dict):
            subtitle = title.get("subtitle") or []
            # a subtitle's lines as one text: a wrapped line may split a marked string
            texts.extend([title.get("text", ""), subtitle if isinstance(subtitle, str) else "\n".join(subtitle)])
        elif isinstance(title, str):
            texts.append(title)
        mark = spec.get("mark")
        texts.extend(s for s in (spec.get("description"), isinstance(mark, dict) and mark.get("description")) if s)
        for name, channel in (spec.get("encoding") or {}).items():
            for line in channel if isinstance(channel, list) else [channel]:
                titles = [line.get("title"), *((line.get(k) or {}).get("title") for k in ("axis", "legend"))]
                texts.extend(t for t in titles if isinstance(t, str))
                if name in ("color", "shape") and line.get("field") and line.get("legend", {}) is not None:
                    if line.get("scale", {}) is None:  # the data are the colours themselves: no legend
                        continue
                    # a legend names its scale's domain where one is given, else the field's values
                    domain = (line.get("scale") or {}).get("domain") or [row.get(line["field"]) for row in data]
                    texts.extend(dict.fromkeys(str(v) for v in domain if isinstance(v, str)))
        for key in ("layer", "vconcat", "hconcat", "concat"):
            for part in spec.get(key, []):
                view(part, data)

    view(json.loads(proto.spec), [])
    return texts


def table_cells(frame) -> list[str]:
    """The distinct words in a table's text columns (statuses, reasons, labels)."""
    cells: set[str] = set()
    for column in frame.columns:
        if not (pd.api.types.is_numeric_dtype(frame[column]) or pd.api.types.is_datetime64_any_dtype(frame[column])):
            cells |= {v for v in frame[column].dropna().unique() if isinstance(v, str)}
    return sorted(cells)


def unmarked(text: str, names: set[str] = frozenset()) -> str:
    """What is left of ``text`` once the marked parts, the allowed tokens, the given
    names (platform data: people, programmes, modules) and punctuation are removed."""
    rest = text
    while MARKED.search(rest):
        rest = MARKED.sub(" ", rest)
    names = {*names, *SOURCES, *(language.native for language in i18n.LANGUAGES.values())}  # + the selector's
    for name in sorted(names, key=len, reverse=True):
        rest = rest.replace(name, " ")
    for pattern in ALLOWED:
        rest = re.sub(pattern, " ", rest)
    rest = re.sub(r"<[^>]+>", " ", rest)  # an HTML tag a markdown string carries (an anchor, a span)
    return " ".join(re.findall(r"[^\W\d_]{2,}", rest))


def unmarked_texts(at: AppTest, names: set[str] = frozenset()) -> list[str]:
    """The shown texts with words outside the markers, each reduced to those words."""
    return [left for left in (unmarked(t, names) for t in shown_texts(at)) if left]
