from tests.server import world


def test_login_search_view(client, db, as_role):
    headers = as_role("practitioner")
    found = client.post(
        "/api/v1/searches",
        json={"family": world.ORDINARY_FAMILY, "date_of_birth": world.ORDINARY_DOB.isoformat()},
        headers=headers,
    )
    assert found.status_code == 200, found.json()
    ids = [r["id"] for r in found.json()["results"]]
    assert world.ORDINARY in ids
    record = client.post(
        f"/api/v1/children/{world.ORDINARY}/views", json={"reason": "safeguarding"}, headers=headers
    )
    assert record.status_code == 200, record.json()
    assert record.json()["kind"] == "full"
