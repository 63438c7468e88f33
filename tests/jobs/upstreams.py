"""Replayed upstreams for the job tests: Hugging Face's daily papers, arXiv's announcement feed and
OAI-PMH, served by a real local HTTP server from recorded responses, and the settings that point
a site at it with schedules fast enough for a test."""

from __future__ import annotations

from pathlib import Path

from tests.replay_server import JSON, XML, ReplayServer, Reply, as_last_page, file_reply
from tests.web.hf_fixtures import HF_SAMPLE

HF_PATH = "/api/daily_papers"
RSS_PATH = "/rss/cs.AI"
OAI_PATH = "/oai"
# The recorded Hugging Face list of 2024-10-25: what a harvest of any day gets here.
HF_IDS = ("2410.16251", "2410.17243", "2410.18533", "2410.18693")
HF_TITLE = "Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss"


def replay_upstreams(replay: ReplayServer, shared_data: Path) -> None:
    """Route every upstream the jobs ask to a recorded answer (any date, any page)."""
    replay.route(HF_PATH, file_reply(shared_data / HF_SAMPLE, content_type=JSON))
    rss = shared_data / "arxiv-rss" / "cs.AI-2025-08-20.xml"
    replay.route(RSS_PATH, file_reply(rss, content_type=XML))
    oai = (shared_data / "arxiv-oai-pmh" / "ListRecordsResponse.xml").read_bytes()
    replay.route(OAI_PATH, Reply(body=as_last_page(oai), content_type=XML))


def job_environment(replay_url: str, **overrides: str) -> dict[str, str]:
    """Settings for a site whose jobs harvest the replay server, on schedules of seconds."""
    environment = {
        "DAILYPAPERS_HF_URL": replay_url,
        "DAILYPAPERS_ARXIV_RSS_URL": replay_url + "/rss",
        "DAILYPAPERS_ARXIV_OAI_URL": replay_url + OAI_PATH,
        "DAILYPAPERS_HARVEST_CATEGORIES": "cs.AI",
        "DAILYPAPERS_HARVEST_BACKFILL_DAYS": "2",
        "DAILYPAPERS_HF_REQUEST_INTERVAL_S": "0",
        "DAILYPAPERS_ARXIV_REQUEST_INTERVAL_S": "0",
        "DAILYPAPERS_HTTP_BACKOFF_S": "0.1",
        "DAILYPAPERS_HTTP_MAX_RETRIES": "1",
        "DAILYPAPERS_HTTP_TIMEOUT_S": "5",
        "DAILYPAPERS_SEARCH_REFRESH_S": "1",
        "DAILYPAPERS_SCHEDULE_HARVEST_HF": "* * * * * */5",
        "DAILYPAPERS_SCHEDULE_HARVEST_ARXIV": "* * * * * */5",
        "DAILYPAPERS_SCHEDULE_HARVEST_OAI": "0 0 * * *",
        "DAILYPAPERS_SCHEDULE_EMBED": "* * * * * */2",
        "DAILYPAPERS_SCHEDULE_PRUNE": "0 0 * * *",
        "DAILYPAPERS_JOBS_LEASE_S": "4",
        "DAILYPAPERS_WORKER_HEARTBEAT_S": "1",
        "DAILYPAPERS_EMBEDDING_BATCH_PAPERS": "16",
    }
    environment.update(overrides)
    return environment
