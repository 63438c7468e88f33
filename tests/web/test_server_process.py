"""`dailypapers serve` as a real process: pages and JSON twins, several workers, a clean stop on
SIGTERM, papers imported by another process, and submissions looked up on a replayed arXiv."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from dailypapers.config import load_settings
from dailypapers.store.engine import open_store
from dailypapers.store.schema import login_failures
from tests.pg_server import PostgresServer, find_pg_bindir
from tests.replay_server import ReplayServer, closed_port_url
from tests.search.conftest import import_files
from tests.web.conftest import LiveServer, csrf_cookie, csrf_from, sign_up, site_settings
from tests.web.hf_fixtures import announced, daily_item, write_items

SEARCH_REFRESH_S = 1.0
ARXIV_PATH = "/api/query"


def child_pids(pid: int) -> list[int]:
    """Processes whose parent is `pid` (read from /proc)."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name sits in parentheses and may hold spaces: split after it.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return children


def running(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def wait_for(check: Callable[[], bool], timeout_s: float) -> None:
    """Poll until `check()` holds; fail the test after `timeout_s`."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout_s:
            pytest.fail(f"not seen within {timeout_s} s")
        time.sleep(0.05)


def test_pages_and_their_json_twins(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=30) as site:
        check_pages_and_twins(site)


def check_pages_and_twins(site: httpx.Client) -> None:
    """The home page, its JSON twin, a paper page and its twin agree; a missing paper is 404."""
    home = site.get("/")
    assert home.status_code == 200
    assert home.headers["content-type"].startswith("text/html")
    twin = site.get(announced(home.text, "application/json"))
    assert twin.headers["content-type"].startswith("application/json")
    papers = twin.json()["papers"]
    assert papers
    for paper in papers:
        assert paper["url"] in home.text
    first = papers[0]
    page = site.get(first["url"])
    assert page.status_code == 200
    detail = site.get(announced(page.text, "application/json")).json()
    assert detail["paper"]["id"] == first["id"]
    assert detail["paper"]["title"] == first["title"]
    assert site.get("/feeds/daily.atom").headers["content-type"].startswith("application/atom")
    missing = site.get("/api/v1/papers/2410.00404")
    assert missing.status_code == 404 and missing.json()["error"]["status"] == 404


def test_two_workers_start_and_answer(site_home: Path) -> None:
    server = LiveServer(site_home, workers=2)
    try:
        workers = child_pids(server.process.pid)
        assert len(workers) >= 2, workers
        paths = ["/", "/trending", "/api/v1/trending", "/search?q=diffusion", "/feeds/daily.atom"]
        with httpx.Client(base_url=server.url, timeout=30) as client:
            check_pages_and_twins(client)

            def status(path: str) -> int:
                return client.get(path).status_code

            with ThreadPoolExecutor(max_workers=8) as pool:
                statuses = list(pool.map(status, paths * 4))
        assert statuses == [200] * len(statuses)
    finally:
        server.stop()


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_stops_the_server_cleanly(site_home: Path, workers: int) -> None:
    server = LiveServer(site_home, workers=workers)
    try:
        assert httpx.get(server.url + "/", timeout=10).status_code == 200
        children = child_pids(server.process.pid)
        server.process.send_signal(signal.SIGTERM)
        _, err = server.process.communicate(timeout=30)
    finally:
        server.stop()
    stderr = err.decode(errors="replace")
    # One worker: uvicorn shuts down gracefully, then re-raises the signal it caught, so the
    # process ends by SIGTERM as a service manager expects. Several: the supervisor exits 0.
    assert server.process.returncode == (-signal.SIGTERM if workers == 1 else 0), stderr
    assert "Traceback" not in stderr
    assert "Error" not in stderr
    # The workers (and multiprocessing's resource tracker, a moment later) end with it.
    wait_for(lambda: not any(running(pid) for pid in children), timeout_s=5)
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/", timeout=2)


def test_papers_imported_by_another_process_appear_while_it_runs(
    site_home: Path, tmp_path: Path
) -> None:
    item = daily_item(
        paper_id="2410.99902",
        title="Quokkaformer: marsupial attention for tiny datasets",
        abstract="We introduce quokkaformer, an attention model trained on marsupial photographs.",
        authors=("Ada Wombat", "Bo Numbat"),
        published_at=datetime(2024, 10, 25, 12, 0),
        listed_at=datetime(2024, 10, 26, 1, 0),
        upvotes=3,
        submitter="importer",
    )
    dump = write_items(tmp_path / "new-day.json", [item])
    server = LiveServer(site_home, DAILYPAPERS_SEARCH_REFRESH_S=str(SEARCH_REFRESH_S))
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            search = {"q": "quokkaformer", "mode": "keyword"}
            assert client.get("/api/v1/search", params=search).json()["hits"] == []
            assert "Quokkaformer" not in client.get("/papers/date/2024-10-26").text
            command = [sys.executable, "-m", "dailypapers", "-q", "import", str(dump)]
            imported = subprocess.run(
                command,
                env={**os.environ, "DAILYPAPERS_HOME": str(site_home)},
                capture_output=True,
                timeout=120,
            )
            assert imported.returncode == 0, imported.stderr.decode(errors="replace")

            def on_list() -> bool:
                return "Quokkaformer" in client.get("/papers/date/2024-10-26").text

            def searchable() -> bool:
                hits = client.get("/api/v1/search", params=search).json()["hits"]
                return [hit["paper"]["id"] for hit in hits] == ["2410.99902"]

            # Lists read the database, so at once; `import` also indexes what it stored and
            # the server picks the newer index up within search_refresh_s. The margin is for
            # a loaded machine.
            wait_for(on_list, timeout_s=4)
            wait_for(searchable, timeout_s=SEARCH_REFRESH_S + 4)
            assert "Quokkaformer" in client.get("/").text  # the newest day is the home page
    finally:
        server.stop()


def test_papers_stored_without_indexing_become_searchable_within_the_refresh(
    site_home: Path, tmp_path: Path
) -> None:
    # A writer that stores papers but leaves the keyword index alone (a harvest while an index
    # build held the lock): the server folds them in itself every search_refresh_s.
    item = daily_item(
        paper_id="2410.99903",
        title="Platypusnet: egg-laying priors for monotreme segmentation",
        abstract="Platypusnet segments monotremes in river footage.",
        authors=("Cy Echidna",),
        published_at=datetime(2024, 10, 25, 12, 0),
        listed_at=datetime(2024, 10, 25, 9, 0),
        upvotes=1,
        submitter="harvester",
    )
    dump = write_items(tmp_path / "unindexed.json", [item])
    server = LiveServer(site_home, DAILYPAPERS_SEARCH_REFRESH_S=str(SEARCH_REFRESH_S))
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            search = {"q": "platypusnet", "mode": "keyword"}
            assert client.get("/api/v1/search", params=search).json()["hits"] == []
            engine = open_store(site_settings(site_home))
            try:
                import_files(engine, [dump])
            finally:
                engine.dispose()

            def searchable() -> bool:
                hits = client.get("/api/v1/search", params=search).json()["hits"]
                return [hit["paper"]["id"] for hit in hits] == ["2410.99903"]

            wait_for(searchable, timeout_s=SEARCH_REFRESH_S + 4)
    finally:
        server.stop()


@pytest.fixture
def arxiv_replay(shared_data: Path) -> Iterator[ReplayServer]:
    with ReplayServer() as replay:
        replay.add_api_recordings(shared_data / "arxiv-api-atom")
        yield replay


def online_site(site_home: Path, arxiv_api_url: str) -> LiveServer:
    return LiveServer(
        site_home,
        DAILYPAPERS_SUBMIT_LOOKUP_ONLINE="true",
        DAILYPAPERS_ARXIV_API_URL=arxiv_api_url,
        DAILYPAPERS_ARXIV_REQUEST_INTERVAL_S="0",
        DAILYPAPERS_HTTP_BACKOFF_S="0.1",
    )


def submit(client: httpx.Client, paper: str) -> httpx.Response:
    """Submit through the JSON API with the session cookie and the CSRF header."""
    headers = {"X-CSRF-Token": csrf_cookie(client)}
    return client.post("/api/v1/submissions", json={"paper": paper}, headers=headers)


def test_submitting_an_unknown_id_fetches_it_from_arxiv(
    site_home: Path, arxiv_replay: ReplayServer
) -> None:
    server = online_site(site_home, arxiv_replay.url + ARXIV_PATH)
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            assert client.get("/api/v1/papers/1605.08386").status_code == 404
            sign_up(client, "submitter")
            form = client.get("/submit")
            response = client.post(
                "/submit",
                data={
                    "paper": "https://arxiv.org/abs/1605.08386v1",
                    "csrf_token": csrf_from(form.text),
                },
                follow_redirects=False,
            )
            assert response.status_code == 303, response.text
            assert response.headers["location"] == "/papers/1605.08386"
            (asked,) = arxiv_replay.requests_to(ARXIV_PATH)
            assert asked.params["id_list"] == "1605.08386"

            paper = client.get("/api/v1/papers/1605.08386").json()["paper"]
            assert paper["title"] == "Heat-bath random walks with Markov bases"
            assert paper["authors"]
            today = datetime.now(UTC).date().isoformat()
            day = client.get(f"/api/v1/papers/date/{today}").json()
            assert "1605.08386" in [p["id"] for p in day["papers"]]
            assert "Heat-bath random walks" in client.get(f"/papers/date/{today}").text
            again = submit(client, "1605.08386")
            assert again.status_code == 409  # it is on today's list already
            assert len(arxiv_replay.requests_to(ARXIV_PATH)) == 1  # stored: not asked again
    finally:
        server.stop()


def test_an_id_arxiv_does_not_know_is_a_clear_404(
    site_home: Path, arxiv_replay: ReplayServer
) -> None:
    server = online_site(site_home, arxiv_replay.url + ARXIV_PATH)
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            sign_up(client, "submitter")
            response = submit(client, "0808.05394")
            assert response.status_code == 404
            error = response.json()["error"]
            assert error["message"] == "no paper 0808.05394 was found here or on arXiv"
            assert error["field"] == "paper"
            assert arxiv_replay.requests_to(ARXIV_PATH)[0].params["id_list"] == "0808.05394"
    finally:
        server.stop()


def test_an_unreachable_arxiv_is_a_502_not_a_500(site_home: Path) -> None:
    server = online_site(site_home, closed_port_url() + ARXIV_PATH)
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            sign_up(client, "submitter")
            started = time.monotonic()
            response = submit(client, "1707.08567")
            assert time.monotonic() - started < 5  # a refused connection is not retried
            assert response.status_code == 502
            message = response.json()["error"]["message"]
            assert message == "arXiv could not be reached; try again later"
            form = client.get("/submit")
            page = client.post(
                "/submit", data={"paper": "1707.08567", "csrf_token": csrf_from(form.text)}
            )
            assert page.status_code == 502
            assert "arXiv could not be reached; try again later" in page.text
            assert "127.0.0.1:" not in page.text.replace(server.url, "")  # no upstream URL
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("trusted", "client_address", "secure"),
    [("", "127.0.0.1", False), ("10.0.0.0/8,127.0.0.1", "203.0.113.7", True)],
)
def test_only_a_trusted_proxy_says_who_the_client_is(
    site_home: Path, trusted: str, client_address: str, secure: bool
) -> None:
    server = LiveServer(site_home, DAILYPAPERS_FORWARDED_ALLOW_IPS=trusted)
    forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            form = {"username": "ada", "password": "not the password"}
            form["csrf_token"] = csrf_from(client.get("/login").text)
            assert client.post("/login", data=form, headers=forwarded).status_code == 401
            form = {"username": "ada", "password": "a long passphrase"}
            form["csrf_token"] = csrf_from(client.get("/signup").text)
            done = client.post("/signup", data=form, headers=forwarded, follow_redirects=False)
            assert done.status_code == 303
            session = next(c for c in done.headers.get_list("set-cookie") if "dp_session" in c)
            assert ("; Secure" in session) is secure
    finally:
        server.stop()
    engine = open_store(site_settings(site_home))
    with engine.connect() as conn:
        keys = set(conn.execute(sa.select(login_failures.c.key)).scalars())
    engine.dispose()
    assert f"addr:{client_address}" in keys and len(keys) == 2


def test_head_answers_like_get_without_a_body(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=30) as site:
        paper = site.get("/api/v1/trending").json()["papers"][0]
        paths = [
            "/",
            paper["url"],
            f"/api/v1/papers/{paper['id']}",
            "/api/daily_papers?date=2024-10-25",
            "/feeds/daily.atom",
            "/static/style.css",
        ]
        for path in paths:
            got, head = site.get(path), site.head(path)
            assert (head.status_code, got.status_code) == (200, 200), path
            assert head.content == b"", path
            assert head.headers["content-type"] == got.headers["content-type"], path
            assert head.headers["content-length"] == str(len(got.content)), path
        assert site.head("/api/v1/papers/2410.00404").status_code == 404
        assert site.head("/logout").status_code == 405  # it only takes POST, as GET learns


class StoppablePostgres(PostgresServer):
    """A throwaway PostgreSQL server that can be stopped and started again with its data."""

    def options(self) -> str:
        return f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"

    paused = False

    def pause(self) -> None:
        self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")
        self.paused = True

    def resume(self) -> None:
        log = str(self.root / "server.log")
        self._run("pg_ctl", "-D", str(self.datadir), "-o", self.options(), "-l", log, "-w", "start")
        self.paused = False

    def stop(self) -> None:
        if self.paused:  # nothing runs: only the files are left to remove
            shutil.rmtree(self.root, ignore_errors=True)
        else:
            super().stop()


@pytest.fixture
def stoppable_postgres() -> Iterator[StoppablePostgres]:
    bindir = find_pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    server = StoppablePostgres(bindir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.postgres
def test_a_database_outage_answers_503_and_the_site_recovers_by_itself(
    stoppable_postgres: StoppablePostgres, seeds_dir: Path, tmp_path: Path
) -> None:
    database_url = stoppable_postgres.create_database()
    home = tmp_path / "home"
    engine = open_store(load_settings({}, home=home, database_url=database_url))
    import_files(engine, [seeds_dir])
    engine.dispose()
    server = LiveServer(
        home, DAILYPAPERS_DATABASE_URL=database_url, DAILYPAPERS_SEARCH_REFRESH_S="0"
    )
    try:
        with httpx.Client(base_url=server.url, timeout=30) as site:
            paper = site.get("/api/v1/trending").json()["papers"][0]["url"]
            pages = ["/", paper, "/trending"]
            machine = ["/api/v1/trending", "/api/daily_papers", "/feeds/daily.atom"]
            assert [site.get(path).status_code for path in pages + machine] == [200] * 6
            stoppable_postgres.pause()
            for path in pages + machine:
                response = site.get(path)
                assert response.status_code == 503, (path, response.text[:300])
                assert response.headers["retry-after"] == "10", path
                if path in pages:
                    assert response.headers["content-type"].startswith("text/html"), path
                    assert "database is unavailable" in response.text, path
                else:
                    assert response.json()["error"]["code"] == "unavailable", path
            stoppable_postgres.resume()
            wait_for(lambda: site.get("/").status_code == 200, timeout_s=15)
            assert [site.get(path).status_code for path in pages + machine] == [200] * 6
        server.process.terminate()
        _, err = server.process.communicate(timeout=30)
    finally:
        server.stop()
    stderr = err.decode(errors="replace")
    assert "Traceback" not in stderr
    assert stderr.count("database unavailable") >= 6  # one line per refused request
