"""The portal user's profile (``orders.profile``), cart (``orders.cart``) and order estimate
(``shipping.estimate``), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from devkit.sample_data import load_samples
from distribution.config import Settings
from distribution.db import session_scope
from distribution.errors import NotFound, UserError
from distribution.inventory.archive import granule_ur
from distribution.inventory.catalog import FieldErrors, parse_search
from distribution.models import Granule, GranuleFile
from distribution.orders import cart
from distribution.orders.profile import profile_values, save_profile
from distribution.orders.queries import find_user
from distribution.shipping.estimate import estimate_order
from distribution.time import utcnow

GOOD = {"email": "ann@example.org", "first_name": "Ann", "last_name": "Lee", "organization": "ISDC",
        "phone": "+41 22 379 21 00", "shipping_address": "ISDC\r\nChemin d'Ecogia 16\r\n\r\n1290 Versoix"}


def test_a_profile_is_created_then_edited_and_emptied(settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        assert profile_values(None)["email"] == ""
        save_profile(session, "ann", {**GOOD, "checksum_list": "on"})
    with session_scope(settings.database_url) as session:
        user = find_user(session, "ANN")
        assert user is not None and (user.email, user.organization, user.checksum_list) == (
            "ann@example.org", "ISDC", True)
        assert user.shipping_address == "ISDC\nChemin d'Ecogia 16\n1290 Versoix"
        save_profile(session, "ann", {**GOOD, "organization": "", "email": "ann@unige.ch"})
    with session_scope(settings.database_url) as session:
        values = profile_values(find_user(session, "ann"))
        assert (values["organization"], values["email"], values["checksum_list"]) == ("", "ann@unige.ch", False)


def test_bad_profile_fields_are_named_and_nothing_is_saved(settings: Settings) -> None:
    bad = {**GOOD, "email": "ann", "first_name": "A" * 65, "organization": "two\nlines",
           "shipping_address": "\n".join(["line"] * 7)}
    with session_scope(settings.database_url) as session:
        with pytest.raises(FieldErrors) as caught:
            save_profile(session, "ann", bad)
        assert set(caught.value.errors) == {"email", "first_name", "organization", "shipping_address"}
        with pytest.raises(FieldErrors) as caught:
            save_profile(session, "ann", {**GOOD, "email": "", "shipping_address": "x" * 61})
        assert set(caught.value.errors) == {"email", "shipping_address"}
        assert find_user(session, "ann") is None


def _archive(settings: Settings, tmp_path: Path) -> list[str]:
    with session_scope(settings.database_url) as session:
        return [granule_ur(g, settings) for g in load_samples(session, settings, tmp_path / "in", scale=1 / 256)]


def test_a_cart_by_granule_by_search_and_its_limit(settings: Settings, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    urs = _archive(settings, tmp_path)
    with session_scope(settings.database_url) as session:
        assert cart.add_granules(session, "Ann", urs[2:3], set()) == 1
        assert cart.add_granules(session, "ann", urs[2:3], set()) == 0  # already there
        with pytest.raises(NotFound):
            cart.add_granules(session, "ann", ["SC:MOD09GHK.003:99999"], set())
        assert cart.add_search(session, "ann", parse_search({"collection": "AST_L1BT.001"}), set()) == 1
        assert cart.add_granules(session, "bob", urs[:1], set()) == 1
    with session_scope(settings.database_url) as session:
        assert [g.ur for g in cart.cart_contents(session, settings, "ANN", set())] == [urs[2], urs[1]]
        assert cart.cart_size(session, "bob") == 1
        # Made proprietary since: kept, but neither shown nor counted as orderable.
        granule = session.get(Granule, int(urs[1].rsplit(":", 1)[1]))
        assert granule is not None
        granule.public_release_date, granule.owner_group = utcnow().date() + timedelta(days=9), "team"
    with session_scope(settings.database_url) as session:
        assert [g.ur for g in cart.cart_contents(session, settings, "ann", set())] == [urs[2]]
        assert len(cart.cart_contents(session, settings, "ann", {"team"})) == 2
        assert cart.remove_granules(session, "ann", [urs[2]]) == 1
        monkeypatch.setattr(cart, "CART_LIMIT", 2)
        with pytest.raises(UserError):
            cart.add_granules(session, "ann", urs[2:4], None)
        assert cart.add_search(session, "ann", parse_search({}), None) == 1  # the room left
        with pytest.raises(UserError):
            cart.add_search(session, "ann", parse_search({}), None)
        assert cart.remove_granules(session, "ann", None) == 2
        assert cart.cart_ids(session, "ann") == [] and cart.cart_size(session, "bob") == 1


def test_the_estimate_counts_bytes_and_volumes_as_the_planner(settings: Settings, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _archive(settings, tmp_path)
    with session_scope(settings.database_url) as session:
        granules = session.query(Granule).order_by(Granule.id).all()
        ids = [g.id for g in granules]
        for g in granules:  # as if each were 300 MB: two fit on a CD, all four on one DVD
            g.files[0].size = 300_000_000
        session.flush()
        monkeypatch.setenv("ARDIS_TAPE_CAPACITY", str(700_000_000))
        estimate = estimate_order(session, ids)
        assert estimate.granules == 4 and estimate.files == sum(len(g.files) for g in granules)
        assert estimate.bytes == sum(f.size for f in session.query(GranuleFile))
        assert estimate.volumes == {"CDROM": 2, "DVD": 1, "DLT": 2}
        granules[0].files[0].size = 800_000_000  # larger than a CD
        session.flush()
        assert estimate_order(session, ids).volumes["CDROM"] is None
        assert estimate_order(session, []).volumes == {"CDROM": 0, "DVD": 0, "DLT": 0}
