"""Write seed inputs for the fuzz targets: real container streams from the emulator.

Run: ``python -m fuzz.make_corpus`` (writes fuzz/corpus/{frames,lines}/).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from langchain_jumpstart_stream.emulator import STREAM_FORMATS, EndpointConfig, rendered_stream
from langchain_jumpstart_stream.emulator._frames import model_stream_error, payload_part


def _bodies(fmt: str) -> list[dict[str, object]]:
    prompt = "How do I build a website?"
    if fmt == "openai-chat":
        return [{"messages": [{"role": "user", "content": prompt}], "stream": True,
                 "max_tokens": 12, "stream_options": {"include_usage": True}}]  # fmt: skip
    if fmt == "openai-completion":
        return [{"prompt": prompt, "stream": True, "max_tokens": 12}]
    return [
        {"inputs": prompt, "parameters": {"details": True, "max_new_tokens": 12}, "stream": True}
    ]


def main(root: Path) -> None:
    """Write the seeds under ``root``."""
    seeds: dict[str, list[bytes]] = {"frames": [], "lines": []}
    for fmt in STREAM_FORMATS:
        for framing in ("sse", "jsonlines"):
            for crlf in (False, True):
                cfg = EndpointConfig(stream_format=fmt, openai_framing=framing, crlf=crlf)  # type: ignore[arg-type]
                for body in _bodies(fmt):
                    stream = rendered_stream(cfg, body)
                    # lines: the FuzzedDataProvider header (limit, stops, cuts) then the bytes
                    seeds["lines"].append(b"\x00\x10\x00\x00" + stream)
                    frames = b"".join(
                        payload_part(stream[i : i + 40]) for i in range(0, len(stream), 40)
                    )
                    seeds["frames"].append(b"\x00\x00" + frames)
    seeds["frames"].append(b"\x00\x00" + payload_part(b"x") + model_stream_error("boom"))
    for target, inputs in seeds.items():
        folder = root / target
        folder.mkdir(parents=True, exist_ok=True)
        for data in inputs:
            (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)  # noqa: S324 - a name
        print(f"{folder}: {len(inputs)} seeds")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "corpus")
