"""Answer a question from a few local documents, streaming an answer that cites them.

    python examples/rag_pipeline.py                                  # local emulator
    python examples/rag_pipeline.py --question "Which errors are retried?"
    python examples/rag_pipeline.py --endpoint-name my-llama --model-id \\
        meta-textgeneration-llama-3-8b-instruct --region us-east-1

Retrieval runs locally: the documents in examples/data/ go into LangChain's
InMemoryVectorStore, embedded by a hashed bag of words (below; no model to download).
The two closest documents are numbered [1], [2] in the prompt, and the model is
asked to cite them. The emulator returns canned text and cites nothing; a real
model does, and the script lists which sources its answer cited.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import math
import re
from pathlib import Path

from _connect import add_connection_args, connect, instruct_prompt
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import RunnableLambda, RunnableParallel, RunnablePassthrough
from langchain_core.vectorstores import InMemoryVectorStore

from langchain_jumpstart_stream import JumpStartLLM

DATA = Path(__file__).parent / "data"
# Words too common to tell documents apart (a word list reads best as text).
_STOP_WORDS = frozenset(
    "a an and are as at be by can do does for from how i in is it its of on or so such "  # noqa: SIM905
    "that the their then this to what when which with you your".split()
)


class HashedBagOfWords(Embeddings):
    """Words and word pairs hashed into a fixed-size vector (the "hashing trick").

    Good enough to find the right page among a few dozen; for real corpora use a
    sentence-embedding model (for example a JumpStart embedding endpoint).
    """

    def __init__(self, dimensions: int = 1024) -> None:
        self.dimensions = dimensions

    def _features(self, text: str) -> list[str]:
        words = [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP_WORDS]
        # Crude stemming, so that "stops", "stopping" and "stop" meet.
        words = [re.sub(r"(ing|ed|es|s)$", "", w) if len(w) > 4 else w for w in words]
        return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]

    def _embed(self, text: str) -> list[float]:
        vector = [0.0] * self.dimensions
        for feature in self._features(text):
            digest = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest())
            vector[digest % self.dimensions] += 1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._embed(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._embed(text)


def load_documents(folder: Path) -> list[Document]:
    """One Document per Markdown file; its first line ("# Title") becomes the title."""
    documents = []
    for path in sorted(folder.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        title = text.splitlines()[0].lstrip("# ").strip()
        documents.append(
            Document(page_content=text, metadata={"source": path.name, "title": title})
        )
    return documents


def number_sources(documents: list[Document]) -> str:
    """The context block of the prompt: each source under its citation number."""
    return "\n\n".join(
        f"[{i}] {doc.metadata['source']}\n{doc.page_content.strip()}"
        for i, doc in enumerate(documents, start=1)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--question", default="How do I stop generation early?")
    parser.add_argument("--k", type=int, default=2, help="documents to retrieve")
    add_connection_args(parser)
    args = parser.parse_args()

    store = InMemoryVectorStore.from_documents(load_documents(DATA), HashedBagOfWords())
    retriever = store.as_retriever(search_kwargs={"k": args.k})

    with connect(args) as connection:
        llm = JumpStartLLM(**connection, model_kwargs={"max_new_tokens": 300})
        prompt = instruct_prompt(
            args.model_id,
            "Sources:\n\n{context}\n\nQuestion: {question}",
            system=(
                "Answer the question using only the numbered sources. After each "
                "sentence, cite the sources it uses, like [1] or [2]. If the sources "
                "do not say, answer that you do not know."
            ),
        )
        answer = (
            RunnableLambda(lambda x: {"context": number_sources(x["sources"]), **x})
            | prompt
            | llm
            | StrOutputParser()
        )
        # Retrieve first, then stream the answer: the stream yields {"sources": [...]},
        # {"question": ...} and then one {"answer": token} per token.
        chain = RunnableParallel(sources=retriever, question=RunnablePassthrough()).assign(
            answer=answer
        )

        print(f"> {args.question}\n")
        sources: list[Document] = []
        text = ""
        for part in chain.stream(args.question):
            if "sources" in part:
                sources = part["sources"]
                for i, doc in enumerate(sources, start=1):
                    print(f"  [{i}] {doc.metadata['source']}: {doc.metadata['title']}")
                print()
            if "answer" in part:
                text += part["answer"]
                print(part["answer"], end="", flush=True)

    cited = sorted({int(n) for n in re.findall(r"\[(\d+)\]", text) if 0 < int(n) <= len(sources)})
    print("\n\nSources cited:" if cited else "\n\nThe answer cited no source. Retrieved:")
    for i in cited or range(1, len(sources) + 1):
        print(f"  [{i}] {sources[i - 1].metadata['source']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
