"""Reliability campaigns: each module measures one safety or data promise and returns its counts.

Every campaign module has `run(long=False, seed=0) -> dict` (JSON-ready counts), a short
version that CI runs through tests/test_campaign_<name>.py, and a long version run by hand:

    python tests/campaigns/<name>.py --long [--seed N] [--json]

tests/bench/reliability_report.py runs the short versions of all of them.
"""
