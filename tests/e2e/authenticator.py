"""Chromium's virtual authenticator and registering a passkey through the manager, for the browser tests."""

from playwright.sync_api import expect


class VirtualAuthenticator:
    """A CTAP2 platform authenticator (resident keys, user verification) attached to ``page``'s tab."""

    def __init__(self, page):
        self._cdp = page.context.new_cdp_session(page)
        self._cdp.send("WebAuthn.enable")
        options = {
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": True,
            "hasUserVerification": True,
            "isUserVerified": True,
            "automaticPresenceSimulation": True,
        }
        self.id = self._cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})["authenticatorId"]

    def credentials(self):
        return self._cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.id})["credentials"]

    def answer_at_once(self, enabled):
        """On: every request is answered at once. Off: requests made from now on wait for a touch that never comes."""
        self._cdp.send("WebAuthn.setAutomaticPresenceSimulation", {"authenticatorId": self.id, "enabled": enabled})


def open_register_dialog(page):
    # The link opens the dialog only once dialog.js (deferred) has run, and passkeys.js must be there to submit it.
    page.wait_for_load_state("load")
    page.get_by_role("link", name="Register Passkey").click()
    dialog = page.get_by_role("dialog", name="Register Passkey")
    expect(dialog).to_be_visible()
    return dialog


def register(page, user, name):
    page.goto(f"/users/{user.pk}/passkeys/")
    dialog = open_register_dialog(page)
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_role("button", name="Register").click()
    expect(page.get_by_role("status")).to_have_text(f"Passkey “{name}” was registered. You can now log in with it.")
