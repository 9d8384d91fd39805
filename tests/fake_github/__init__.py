"""A faithful fake GitHub (GraphQL + REST) for tests and for trying the fetcher by hand.

    from tests.fake_github import FakeGitHub, FakeClock
    with FakeGitHub({"acme/widgets": 60}) as fake:
        fake.url            # http://127.0.0.1:<port>, use as GITHUB_API_URL
        fake.inject("502_json", op="PullRequestsPage")
        fake.dataset.expected_rows("acme/widgets")   # the ground truth

Command line: ``python -m tests.fake_github --port 8765 --repos acme/widgets:60``.
"""

from tests.fake_github.clock import FakeClock, RealClock
from tests.fake_github.dataset import Dataset
from tests.fake_github.faults import Fault
from tests.fake_github.server import FakeGitHub, Record

__all__ = ["Dataset", "FakeClock", "FakeGitHub", "Fault", "RealClock", "Record"]
