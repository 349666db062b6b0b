"""The portal's search box and sort, cart, profile and media order page, through Airflow's own app
(``create_app()``, as the api-server mounts the plugin) with SimpleAuthManager tokens in the ``_token`` cookie.

alice and bob are data users (role ``user``), olga an operator (``op``); ``all_admins`` is off.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from devkit.sample_data import SAMPLES, load_samples
from distribution.config import Settings
from distribution.db import session_scope
from distribution.inventory.archive import granule_ur
from distribution.models import Granule, MediaType, Order, Volume, VolumeState
from distribution.orders.placing import Contact, RequestSpec, create_order
from distribution.shipping.paperwork import packing_list_path
from tests.airflow_rest import forget_request_runs, token
from tests.dags.test_web_app import SERVER, airflow_app  # noqa: F401  (the fixture)

pytestmark = pytest.mark.dags


@pytest.fixture(scope="module")
def app(airflow_app: Any) -> Any:
    """Airflow's app with the plugin's (``test_web_app``'s fixture)."""
    return airflow_app


def _as(app: Any, name: str, role: str = "user") -> dict[str, Any]:
    """What a browser of ``name`` sends: the Airflow UI's login cookie and this server's Origin."""
    return {"cookies": {"_token": token(name, role)}, "headers": {"Origin": SERVER}}


def _get(app: Any, who: dict[str, Any], path: str, **kw: Any) -> Any:
    app.cookies.clear()
    return app.get(path, cookies=who["cookies"], headers=who["headers"], follow_redirects=False, **kw)


def _post(app: Any, who: dict[str, Any], path: str, **kw: Any) -> Any:
    app.cookies.clear()
    headers = {**who["headers"], **kw.pop("headers", {})}
    return app.post(path, cookies=who["cookies"], headers=headers, follow_redirects=False, **kw)


def _archive(settings: Settings, tmp_path: Path) -> list[str]:
    """The four samples; boxes: Europe, the antimeridian (170E..170W), Hawaii, none."""
    forget_request_runs()
    with session_scope(settings.database_url) as session:
        granules = load_samples(session, settings, tmp_path / "in", scale=1 / 256)
        for g, box in zip(granules, [(0.0, 20.0, 60.0, 40.0), (170.0, -170.0, 10.0, -10.0),
                                     (-161.0, -154.0, 23.0, 18.0), (None, None, None, None)]):
            g.west, g.east, g.north, g.south = box
        return [granule_ur(g, settings) for g in granules]


def test_search_by_box_and_sorted_in_the_page_and_the_api(app: Any, sqlite_settings: Settings,
                                                          tmp_path: Path) -> None:
    _archive(sqlite_settings, tmp_path)
    alice = _as(app, "alice")
    crossing = {"west": "175", "east": "-160", "north": "30", "south": "-5"}
    page = _get(app, alice, "/ardis/portal/", params=crossing)
    assert page.status_code == 200, page.text
    assert SAMPLES[1].lgid in page.text and SAMPLES[2].lgid in page.text and SAMPLES[0].lgid not in page.text
    assert "2 granules" in page.text
    found = _get(app, alice, "/ardis/api/search", params={**crossing, "sort": "id", "order": "asc"}).json()
    assert [g["local_granule_id"] for g in found["granules"]] == [SAMPLES[1].lgid, SAMPLES[2].lgid]
    assert (found["total"], found["truncated"]) == (2, False)
    by_size = _get(app, alice, "/ardis/api/search", params={"sort": "size", "order": "desc"}).json()["granules"]
    assert [g["size"] for g in by_size] == sorted((g["size"] for g in by_size), reverse=True)
    bad = _get(app, alice, "/ardis/portal/", params={"west": "200", "east": "0", "north": "1", "south": "0"})
    assert bad.status_code == 400 and re.search(r'<p class="error" id="west-error">degrees', bad.text)
    api = _get(app, alice, "/ardis/api/search", params={"west": "1", "sort": "colour"})
    assert api.status_code == 400 and set(api.json()["detail"]["errors"]) == {"east", "north", "south", "sort"}


def test_a_cart_filled_from_searches_then_ordered(app: Any, sqlite_settings: Settings, tmp_path: Path) -> None:
    urs = _archive(sqlite_settings, tmp_path)
    alice, bob = _as(app, "alice"), _as(app, "bob")
    back = "/ardis/portal/?collection=AST_L1BT.001"
    one = _post(app, alice, "/ardis/portal/cart/add", params={"next": back}, data={"granules": urs[1]})
    assert (one.status_code, one.headers["location"]) == (303, back + "&added=1")
    assert "1 granule added" in _get(app, alice, one.headers["location"]).text
    evil = _post(app, alice, "/ardis/portal/cart/add", data={"granules": urs[0]},
                 headers={"Origin": "http://evil.example"})
    assert evil.status_code == 403
    away = _post(app, alice, "/ardis/portal/cart/add", params={"next": "https://evil.example/"},
                 data={"what": "page", "page_granules": urs[1:3], "granules": urs[0]})
    assert away.headers["location"] == "/ardis/portal/cart?added=1"  # the page's two, one already there
    everything = _post(app, alice, "/ardis/portal/cart/add", data={"what": "all", "collection": "MOD09GHK.003"})
    assert everything.status_code == 303
    cart = _get(app, alice, "/ardis/portal/cart")
    assert cart.status_code == 200 and all(s.lgid in cart.text for s in SAMPLES[:3])
    assert "DVD 1 disc" in cart.text and 'class="count">3<' in cart.text
    assert _get(app, bob, "/ardis/api/cart").json()["granules"] == []  # bob's cart is his own
    mine = _get(app, alice, "/ardis/api/cart").json()
    assert [g["ur"] for g in mine["granules"]] == [urs[1], urs[2], urs[0]]
    assert mine["estimate"]["volumes"]["DVD"] == 1 and mine["estimate"]["bytes"] == sum(
        g["size"] for g in mine["granules"])
    with session_scope(sqlite_settings.database_url) as session:  # made proprietary: not for bob's cart
        granule = session.get(Granule, int(urs[3].rsplit(":", 1)[1]))
        assert granule is not None
        granule.owner_group, granule.public_release_date = "team", granule.inserted_at.date().replace(year=2100)
    assert _post(app, bob, "/ardis/api/cart/add", json={"granules": [urs[3]]}).status_code == 404
    assert _post(app, bob, "/ardis/api/cart/add", json={"search": {"west": "x"}}).status_code == 400

    form = _get(app, alice, "/ardis/portal/order", params={"cart": "1"})
    assert form.status_code == 200 and 'name="from_cart" value="1"' in form.text and 'id="estimate"' in form.text
    assert [m for m in re.findall(r'name="granules" value="([^"]+)"', form.text)] == [urs[1], urs[2], urs[0]]
    token_ = re.search(r'name="token" value="([0-9a-f]+)"', form.text)
    assert token_
    placed = _post(app, alice, "/ardis/portal/order", data={
        "token": token_.group(1), "granules": [urs[1], urs[2]], "method": "FtpPull", "email": "alice@example.org",
        "from_cart": "1"})
    assert placed.status_code == 303, placed.text
    order_id = re.fullmatch(r"/ardis/portal/orders/(\d+)\?placed=1", placed.headers["location"]).group(1)
    with session_scope(sqlite_settings.database_url) as session:
        order = session.scalar(select(Order).where(Order.order_id == order_id))
        assert order is not None and [rg.granule.id for rg in order.requests[0].granules] == [
            int(u.rsplit(":", 1)[1]) for u in urs[1:3]]
    left = _get(app, alice, "/ardis/api/cart").json()["granules"]
    assert [g["ur"] for g in left] == [urs[0]]  # the ordered ones left the cart; the unticked one stays
    emptied = _post(app, alice, "/ardis/portal/cart/remove", data={"what": "all"})
    assert emptied.status_code == 303 and _get(app, alice, "/ardis/api/cart").json()["granules"] == []


def test_the_profile_is_checked_saved_and_prefills_the_order_form(app: Any, sqlite_settings: Settings) -> None:
    alice, bob = _as(app, "alice"), _as(app, "bob")
    first = _get(app, alice, "/ardis/portal/profile")
    assert first.status_code == 200 and "saving this creates it" in first.text
    bad = _post(app, alice, "/ardis/portal/profile", data={"email": "alice", "first_name": "A" * 70,
                                                           "shipping_address": "\n".join("x" * 7)})
    assert bad.status_code == 400
    for name in ("email", "first_name", "shipping_address"):
        assert re.search(rf'<p class="error" id="{name}-error">', bad.text), name
    assert 'value="alice"' in bad.text  # what was typed stays
    assert _get(app, alice, "/ardis/api/profile").json()["exists"] is False  # nothing saved
    good = {"email": "alice@example.org", "first_name": "Alice", "last_name": "Liddell", "organization": "ISDC",
            "phone": "", "shipping_address": "ISDC\nChemin d'Ecogia 16\n1290 Versoix", "checksum_list": "on"}
    saved = _post(app, alice, "/ardis/portal/profile", data=good)
    assert (saved.status_code, saved.headers["location"]) == (303, "/ardis/portal/profile?saved=1")
    assert _post(app, alice, "/ardis/portal/profile", data=good,
                 headers={"Origin": "http://evil.example"}).status_code == 403
    shown = _get(app, alice, "/ardis/portal/profile?saved=1").text
    assert "Saved." in shown and 'value="Liddell"' in shown
    form = _get(app, alice, "/ardis/portal/order").text
    assert 'value="alice@example.org"' in form and "Chemin d&#39;Ecogia 16" in form and 'value="ISDC"' in form
    assert _get(app, bob, "/ardis/api/profile").json() == {
        "user_id": "bob", "exists": False, "email": "", "first_name": "", "last_name": "", "organization": "",
        "phone": "", "shipping_address": "", "checksum_list": False}
    scripted = _post(app, bob, "/ardis/api/profile", json={"email": "bob@example.org", "organization": "EPFL"})
    assert scripted.status_code == 200 and scripted.json()["organization"] == "EPFL"
    assert _post(app, bob, "/ardis/api/profile", json={"email": "no"}).json()["detail"]["errors"] == {
        "email": "not a valid e-mail address: 'no'"}


def test_a_media_order_page_shows_volumes_shipment_and_the_packing_list(app: Any, sqlite_settings: Settings,
                                                                          tmp_path: Path) -> None:
    urs = _archive(sqlite_settings, tmp_path)
    contact = Contact(user_id="alice", email="alice@example.org", shipping_address="1 Main Street\nLandover")
    with session_scope(sqlite_settings.database_url) as session:
        order = create_order(session, sqlite_settings, contact, [RequestSpec(MediaType.DVD, urs[:2])])
        request = order.requests[0]
        order_id, request_id = str(order.order_id), str(request.request_id)
        for n, state in ((1, VolumeState.VERIFIED), (2, VolumeState.PLANNED)):
            session.add(Volume(request_pk=request.id, number=n, count=2, media_id=f"{request_id}_00{n}",
                               medium="DVD+R", state=state, planned_bytes=1000 * n))
        request.carrier, request.tracking_number = "FedEx", "7712 3456 7890"
        pdf = packing_list_path(sqlite_settings, request)
    alice, bob, olga = _as(app, "alice"), _as(app, "bob"), _as(app, "olga", "op")
    url = f"/ardis/portal/orders/{order_id}"
    pdf_url = f"{url}/requests/{request_id}/packing-list.pdf"
    page = _get(app, alice, url).text
    assert f"{request_id}_001" in page and "Media 2 of 2" in page and "s-verified" in page and "s-planned" in page
    assert "FedEx" in page and "7712 3456 7890" in page and "packing-list.pdf" not in page  # not printed yet
    assert _get(app, alice, pdf_url).status_code == 404
    pdf.parent.mkdir(parents=True, exist_ok=True)
    pdf.write_bytes(b"%PDF-1.4 the packing list\n")
    assert pdf_url in _get(app, alice, url).text
    got = _get(app, alice, pdf_url)
    assert (got.status_code, got.headers["content-type"], got.content) == (200, "application/pdf",
                                                                           pdf.read_bytes())
    assert _get(app, bob, pdf_url).status_code == 404 and _get(app, bob, url).status_code == 404
    assert _get(app, alice, f"{url}/requests/0999999999/packing-list.pdf").status_code == 404
    assert _get(app, olga, pdf_url).status_code == 200
    api = _get(app, alice, f"/ardis/api/orders/{order_id}").json()["requests"][0]
    assert [(v["label"], v["state"]) for v in api["volumes"]] == [("Media 1 of 2", "verified"),
                                                                   ("Media 2 of 2", "planned")]
    assert (api["carrier"], api["tracking_number"]) == ("FedEx", "7712 3456 7890")
