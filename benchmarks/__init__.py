"""Performance benchmarks for ``langchain_jumpstart_stream``; run ``python -m benchmarks``.

Every figure is measured against baselines in the same run (same machine, same
emulator process), so that noise from other work on the machine cancels out in
the ratios. See ``benchmarks/README.md`` for what each figure means.
"""
