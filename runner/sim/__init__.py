"""A FreeSWITCH simulator: mod_event_socket in front of a small switch core.

It is a test double matched to real FreeSWITCH 1.10.12 transcripts, used by the test
suite, the benchmarks and ``eslflow demo`` — never a replacement for FreeSWITCH.
"""
