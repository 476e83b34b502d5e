"""Workspaces, members, roles, invitations and switching; every lookup scoped to the workspace."""

from __future__ import annotations

from tests._console import Console, invite_member


def test_invite_activate_and_roles(owner: Console) -> None:
    editor = invite_member(owner, "ed@example.com", "editor")
    members = owner.get("/workspaces/current/members").json()["accounts"]
    assert {(m["email"], m["role"]) for m in members} == {("owner@example.com", "owner"), ("ed@example.com", "editor")}

    # An editor builds apps but cannot manage members.
    assert editor.post("/apps", json={"name": "E", "mode": "chat"}).status_code == 201
    refused = editor.post(
        "/workspaces/current/members/invite-email", json={"emails": ["x@example.com"], "role": "normal"}
    )
    assert refused.status_code == 403

    editor_id = next(m["id"] for m in members if m["role"] == "editor")
    assert owner.put(f"/workspaces/current/members/{editor_id}/update-role", json={"role": "normal"}).status_code == 200
    # Now a normal member: may look, may not build.
    assert editor.get("/apps").status_code == 200
    assert editor.post("/apps", json={"name": "N", "mode": "chat"}).status_code == 403

    bad_role = owner.put(f"/workspaces/current/members/{editor_id}/update-role", json={"role": "owner"})
    assert bad_role.status_code == 400
    assert owner.delete(f"/workspaces/current/members/{editor_id}").status_code == 200
    assert editor.get("/apps").status_code == 401  # no workspace left


def test_dataset_operator_cannot_see_apps(owner: Console) -> None:
    operator = invite_member(owner, "ops@example.com", "dataset_operator")
    assert operator.get("/apps").status_code == 403
    assert operator.post("/datasets/api-keys").status_code == 201


def test_admin_cannot_touch_owner_or_other_admins(owner: Console) -> None:
    admin = invite_member(owner, "adm@example.com", "admin")
    other = invite_member(owner, "adm2@example.com", "admin")
    members = {m["email"]: m["id"] for m in owner.get("/workspaces/current/members").json()["accounts"]}
    assert admin.delete(f"/workspaces/current/members/{members['owner@example.com']}").status_code == 403
    assert admin.delete(f"/workspaces/current/members/{members['adm2@example.com']}").status_code == 403
    assert (
        admin.put(
            f"/workspaces/current/members/{members['adm@example.com']}/update-role", json={"role": "normal"}
        ).status_code
        == 403
    )
    assert other.get("/workspaces/current").json()["role"] == "admin"


def test_invitation_tokens_are_single_use_and_checked(owner: Console) -> None:
    response = owner.post(
        "/workspaces/current/members/invite-email", json={"emails": ["new@example.com"], "role": "editor"}
    )
    token = response.json()["invitation_results"][0]["url"].split("token=", 1)[1]
    check = owner.client.get("/console/api/activate/check", params={"email": "new@example.com", "token": token}).json()
    assert check["is_valid"] is True
    assert check["data"]["email"] == "new@example.com"
    assert owner.client.get("/console/api/activate/check", params={"token": "forged"}).json()["is_valid"] is False
    body = {"email": "new@example.com", "token": token, "name": "New", "password": "Passw0rdx"}
    assert owner.client.post("/console/api/activate", json=body).status_code == 200
    assert owner.client.post("/console/api/activate", json=body).status_code == 401
    # A pending account cannot sign in before activation; an active one can.
    assert Console(owner.client, "new@example.com", "Passw0rdx").login().token


def test_several_workspaces_and_switch(owner: Console) -> None:
    first = owner.get("/workspaces/current").json()
    app_in_first = owner.create_app("In first")
    created = owner.post("/workspaces", json={"name": "Second"})
    assert created.status_code == 201
    second = created.json()
    assert owner.get("/workspaces/current").json()["id"] == second["id"]
    # The first workspace's app is invisible from the second.
    assert owner.get(f"/apps/{app_in_first['id']}").status_code == 404
    assert owner.get("/apps").json()["total"] == 0
    listed = owner.get("/workspaces").json()["workspaces"]
    assert {w["id"]: w["current"] for w in listed} == {first["id"]: False, second["id"]: True}
    switched = owner.post("/workspaces/switch", json={"tenant_id": first["id"]})
    assert switched.json()["new_tenant"]["id"] == first["id"]
    assert owner.get(f"/apps/{app_in_first['id']}").status_code == 200
    assert owner.post("/workspaces/switch", json={"tenant_id": "not-mine"}).status_code == 404


def test_existing_account_invited_to_second_workspace(owner: Console) -> None:
    member = invite_member(owner, "m@example.com", "editor")
    member_ws = member.post("/workspaces", json={"name": "Member's own"}).json()
    invited = member.post(
        "/workspaces/current/members/invite-email", json={"emails": ["owner@example.com"], "role": "normal"}
    )
    assert invited.json()["invitation_results"][0]["status"] == "success"
    names = {w["name"] for w in owner.get("/workspaces").json()["workspaces"]}
    assert "Member's own" in names
    owner.post("/workspaces/switch", json={"tenant_id": member_ws["id"]})
    assert owner.get("/workspaces/current").json()["role"] == "normal"
