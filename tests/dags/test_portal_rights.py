"""The portal and data rights, on a real api-server: a proprietary granule is invisible and unorderable outside its
group, orderable inside it and by an operator; two identical posts at once make one order."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from distribution.config import Settings
from distribution.db import session_scope
from distribution.inventory.rights import set_rights, set_user_groups
from distribution.models import Granule, User
from distribution.orders.queries import find_user
from distribution.time import utcnow
from tests.airflow_rest import AirflowRest, forget_request_runs
from tests.dags.test_portal import _orders_of, archive_samples, browser, order_form

pytestmark = pytest.mark.dags
GROUP = "pi-rights-test"


def _rights(settings: Settings, ur: str, proprietary: bool) -> None:
    with session_scope(settings.database_url) as session:
        granule = session.get(Granule, int(ur.rsplit(":", 1)[1]))
        assert granule is not None
        set_rights(session, granule, utcnow().date() + timedelta(days=1), GROUP) if proprietary \
            else set_rights(session, granule, None, None)


def _membership(settings: Settings, user_id: str, member: bool) -> None:
    with session_scope(settings.database_url) as session:
        user = find_user(session, user_id)
        if user is None:
            user = User(user_id=user_id, email=f"{user_id}@example.org")
            session.add(user)
        set_user_groups(session, user, {GROUP} if member else set(), set() if member else {GROUP})


def _field_error(page: httpx.Response, field: str) -> str:
    shown = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', page.text)
    return shown.group(1) if shown else ""


def test_a_proprietary_granule_is_ordered_only_inside_its_group(airflow_rest: AirflowRest, rest_settings: Settings,
                                                                 tmp_path: Path) -> None:
    forget_request_runs()
    urs = archive_samples(rest_settings, tmp_path)
    secret = urs[-1]
    _rights(rest_settings, secret, proprietary=True)
    try:
        with browser(airflow_rest, "alice") as alice, browser(airflow_rest, "olga") as olga:
            before = _orders_of(rest_settings, "alice")
            assert alice.get("/ardis/api/search", params={"text": secret}).json()["total"] == 0
            assert alice.get("/ardis/portal/granule", params={"ur": secret}).status_code == 404
            form = order_form(alice, [secret])
            refused = alice.post("/ardis/portal/order", data=form)
            assert refused.status_code == 400
            assert _field_error(refused, "granules") == f"no granule {secret}"
            assert _orders_of(rest_settings, "alice") == before

            _membership(rest_settings, "alice", member=True)
            assert alice.get("/ardis/api/search", params={"text": secret}).json()["total"] == 1
            placed = alice.post("/ardis/portal/order", data=form)
            assert placed.status_code == 303, placed.text
            assert len(_orders_of(rest_settings, "alice")) == len(before) + 1

            operators = {**order_form(olga, [secret]), "email": "olga@example.org"}
            assert olga.post("/ardis/portal/order", data=operators).status_code == 303  # in no group
    finally:
        _rights(rest_settings, secret, proprietary=False)
        _membership(rest_settings, "alice", member=False)


def test_two_identical_posts_at_once_make_one_order(airflow_rest: AirflowRest, rest_settings: Settings,
                                                    tmp_path: Path) -> None:
    forget_request_runs()
    urs = archive_samples(rest_settings, tmp_path)
    with browser(airflow_rest, "alice") as alice:
        form = order_form(alice, urs[:1])
        before = _orders_of(rest_settings, "alice")
        barrier = threading.Barrier(2)
        answers: list[httpx.Response] = []

        def post() -> None:
            barrier.wait()
            answers.append(alice.post("/ardis/portal/order", data=form))

        threads = [threading.Thread(target=post) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [a.status_code for a in answers] == [303, 303], [a.text[-500:] for a in answers]
        after = _orders_of(rest_settings, "alice")
        assert len(after) == len(before) + 1
        [new] = set(after) - set(before)
        assert {a.headers["location"].split("?")[0] for a in answers} == {f"/ardis/portal/orders/{new}"}
