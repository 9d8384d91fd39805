"""The fetch defaults, one definition for ``demoseed fetch``, ``demoseed snapshot`` and the fetch stage.

* :data:`FETCH_CONCURRENCY`: GitHub requests in flight at once;
* :data:`FETCH_MAX_WAIT`: seconds of rate-limit waiting after which a run
  stops cleanly and says when to resume.

(A repository's ``owner/name`` rule is :func:`pipeline.base.repos.repo_ok`.)
"""

from __future__ import annotations

FETCH_CONCURRENCY = 8
FETCH_MAX_WAIT = 600
