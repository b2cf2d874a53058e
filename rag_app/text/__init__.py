"""Text as search sees it: the words of a passage or a question (``bm25``: one tokenizer
and one stop list for keyword coverage, BM25 on both stores and the answerer), sentences
(``sentences``)."""
