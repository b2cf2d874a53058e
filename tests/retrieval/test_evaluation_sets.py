"""The hand-written evaluation set over ../shared/corpus/pdf: every question names a real
file, and its page holds the answer (the evidence below, checked on the extracted text)."""

from __future__ import annotations

from rag_app.evaluation.questions import load_questions, normalise
from rag_app.ingest.pdf import extract_pages
from tests.conftest import CORPUS, ROOT

QUESTIONS = load_questions(ROOT / "benchmarks" / "eval" / "corpus-pdf.jsonl")

# The words on the expected page that answer each question, in file order.
EVIDENCE = [
    "Federal eRulemaking Portal",
    "resulting in 189 fatalities",
    "157 fatalities",
    "MCAS is a function of the Speed Trim System",
    "To warn of an impending stall",
    "On November 7, 2018, the FAA issued Emergency AD",
    "permit only one activation of MCAS per sensed high AOA event",
    "More than 10 degrees difference for more than 10 seconds",
    "was published on April 10, 2020",
    "from the electronic flight instrument system (EFIS) panel",
    "thumb-actuated trim switch",
    "does not meet the criteria specified in 14 CFR 25.1707",
    "On March 13, 2019, the FAA issued an Emergency Order of Prohibition",
    "Transport Canada Civil Aviation (TCCA)",
    "affects 73 airplanes of U.S. registry",
    "AFM revisions ... 1 work-hour",
    "AOA sensor system test ... 40 work-hours",
    "Up to $766,865",
    "$7,650 (90 work-hours",
    "software version P12.1.2",
    "federalism implications under Executive Order 13132",
    "A special flight permit is not required",
    "Flight Standards Information Management System (FSIMS)",
    "Lance T. Gant, Director",
    "seizing of a main landing gear (MLG) spring pack assembly",
    "No. 07-1315",
    "CHARLES M. SEVILLA, ESQ., San Diego, Cal.; on behalf of the Respondent",
    "BAIN, J MATTHEW DISTRICT DIRECTOR 37,499.96",
    "TRAIN FARE FOR SEN HAWLEY WASHINGTON DC TO NEW YORK NY",
    "Kentucky 264,140",
    "327 BALLOTS CAST",
    "NEEL KASHKARI 247",
    "Case Tracking Number: 150109-DSP-Milw-505",
    "charged with a felony count of 1st-degree reckless homocide",
    "within 6 months",
]


def test_the_set_mixes_about_thirty_questions_over_every_corpus_pdf() -> None:
    assert len(QUESTIONS) == len(EVIDENCE) >= 30
    files = {p.name for p in (CORPUS / "pdf").glob("*.pdf")}
    assert {q.document for q in QUESTIONS} == files


def test_every_expected_page_holds_the_answer() -> None:
    pages = {
        (path.name, p.number): normalise(p.text)
        for path in (CORPUS / "pdf").glob("*.pdf")
        for p in extract_pages(path.read_bytes(), max_pages=100)
    }
    wrong = [
        (q.line, q.question)
        for q, evidence in zip(QUESTIONS, EVIDENCE, strict=True)
        if normalise(evidence) not in pages.get((q.document, q.page or 0), "")
    ]
    assert wrong == []


PARAPHRASES = load_questions(ROOT / "benchmarks" / "eval" / "paraphrase-pdf.jsonl")


def test_every_paraphrased_question_has_its_span_on_its_page_in_other_words() -> None:
    """The paraphrase set: each span is on the expected page, and a question shares at most
    one content word with its span (it asks in other words)."""
    from rag_app.text.words import content_words

    pages = {
        (path.name, p.number): normalise(p.text)
        for path in (CORPUS / "pdf").glob("*.pdf")
        for p in extract_pages(path.read_bytes(), max_pages=100)
    }
    assert len(PARAPHRASES) >= 20
    missing = [
        (q.line, q.span)
        for q in PARAPHRASES
        if q.span is None or normalise(q.span) not in pages.get((q.document, q.page or 0), "")
    ]
    assert missing == []
    shared = {
        q.line: sorted(content_words(q.question) & content_words(q.span or "")) for q in PARAPHRASES
    }
    assert {line: words for line, words in shared.items() if len(words) > 1} == {}
