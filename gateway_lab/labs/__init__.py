"""The pieces behind notebook 09's labs: measurements, raw bytes, weak handlers.

Theory of operation: the lab notebook keeps its cells about ideas, so the
plumbing it reuses lives here, one small module per job:

=============  ==========================================================
``perf``       time calls and requests; a progress bar for long runs
``fairbench``  two servers side by side: a client process, one connection
               policy for both, alternating rounds, p99 only from 100 samples
``wire``       send raw bytes to a loopback port and read what comes back
``guards``     what the course's guards add per call, and a WSGI engine
               served bare (no guard), for what the engine itself does
``weak``       handlers and servers that are unsafe **on purpose**, each
               next to its fix, for the security lab
=============  ==========================================================

Everything talks to 127.0.0.1 only, with bounded sizes and timeouts.
"""

from __future__ import annotations

__all__: list[str] = []
