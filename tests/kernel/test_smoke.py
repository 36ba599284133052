"""The shell comes up: login page, sign-in, home page with the modules."""


def test_admin_signs_in_and_sees_every_module(client, users):
    users.signed_in(client, "anna", "admin")
    page = client.get("/").get_data(as_text=True)
    for endpoint in ("/warnings/", "/channels/", "/cad/", "/shelters/", "/reserves/",
                     "/volunteers/", "/exercises/", "/activations/", "/areas/", "/audit/"):
        assert f'href="{endpoint}"' in page


def test_healthz_reports_database(client):
    body = client.get("/healthz").get_json()
    assert body["database"]["ok"] is True
    assert body["scheduler"]["state"] == "never_started"
