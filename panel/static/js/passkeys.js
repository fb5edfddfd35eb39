// Passkeys: registering one on the passkey manager ([data-passkey-register] form) and signing in
// with one on the login page ([data-passkey-login]), both through the panel's JSON endpoints.
// On the login page the browser may also offer saved passkeys in the username's autofill
// (conditional mediation), where it supports that.
// Its messages come from the JavaScript catalog (base.html loads it first: gettext, interpolate).
(function () {
  "use strict";

  const supported = typeof window.PublicKeyCredential === "function" && !!navigator.credentials;
  const UNSUPPORTED = gettext("This browser cannot use passkeys. Use an up-to-date browser, or your password.");

  function toBytes(base64url) {
    const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    return Uint8Array.from(atob(padded), function (c) { return c.charCodeAt(0); }).buffer;
  }

  function toBase64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let text = "";
    for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withBytes(descriptors) {
    return (descriptors || []).map(function (d) { return Object.assign({}, d, { id: toBytes(d.id) }); });
  }

  function credentialJSON(credential) {
    const r = credential.response;
    const response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
    }
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: response,
    };
  }

  // What the browser's refusal means to the person in front of it.
  function browserMessage(error, registering) {
    switch (error && error.name) {
      case "NotAllowedError":
        return gettext("The passkey request was cancelled or timed out. Try again when you are ready.");
      case "InvalidStateError":
        return registering
          ? gettext("This device already holds a passkey for your account.")
          : gettext("This passkey cannot be used here.");
      case "SecurityError":
        return gettext("The browser refused passkeys on this address. Open the panel over HTTPS by its domain name.");
      case "NotSupportedError":
        return gettext("This device offers no passkey the panel can use.");
      default:
        if (error && error.message) {
          return interpolate(gettext("The passkey request failed: %(reason)s"), { reason: error.message }, true);
        }
        return gettext("The passkey request failed.");
    }
  }

  function csrfToken() {
    const field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function panelError(message) {
    const error = new Error(message);
    error.fromPanel = true;
    return error;
  }

  // POST to the panel; resolves to the JSON answer, or rejects with an Error carrying the panel's message.
  async function post(url, body) {
    const headers = { "X-CSRFToken": csrfToken(), Accept: "application/json" };
    if (!(body instanceof FormData)) headers["Content-Type"] = "application/json";
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin", headers: headers,
      body: body instanceof FormData ? body : JSON.stringify(body),
    });
    const isJSON = (response.headers.get("Content-Type") || "").startsWith("application/json");
    if (!isJSON) {
      // Sent to the login page: the session ended while this page was open.
      throw panelError(gettext("Your session has ended. Reload the page and log in again."));
    }
    const answer = await response.json();
    if (!response.ok) {
      const fieldErrors = answer.errors ? Object.values(answer.errors).flat() : [];
      throw panelError(fieldErrors.length ? fieldErrors.join(" ") : answer.detail || gettext("The panel refused the request."));
    }
    return answer;
  }

  function show(status, message) {
    status.textContent = message;
    status.hidden = !message;
  }

  function setUpRegistration(form) {
    const status = form.querySelector("[data-passkey-status]");
    const submit = form.querySelector("button[type=submit]");
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      if (!supported) return show(status, UNSUPPORTED);
      show(status, "");
      submit.disabled = true;
      try {
        const options = await post(form.dataset.optionsUrl, new FormData(form));
        options.challenge = toBytes(options.challenge);
        options.user.id = toBytes(options.user.id);
        options.excludeCredentials = withBytes(options.excludeCredentials);
        const credential = await navigator.credentials.create({ publicKey: options });
        const answer = await post(form.dataset.finishUrl, { credential: credentialJSON(credential) });
        window.location.assign(answer.redirect);
      } catch (error) {
        show(status, error.fromPanel ? error.message : browserMessage(error, true));
        submit.disabled = false;
      }
    });
  }

  function setUpLogin(box) {
    const status = box.querySelector("[data-passkey-status]");
    const button = box.querySelector("[data-passkey-login-button]");
    let pending = null; // the AbortController of the autofill request waiting in the background

    async function signIn(conditional) {
      if (pending) pending.abort();
      const controller = new AbortController();
      pending = conditional ? controller : null;
      const options = await post(box.dataset.optionsUrl, {});
      options.challenge = toBytes(options.challenge);
      options.allowCredentials = withBytes(options.allowCredentials);
      const request = { publicKey: options, signal: controller.signal };
      if (conditional) request.mediation = "conditional";
      const credential = await navigator.credentials.get(request);
      const answer = await post(box.dataset.finishUrl, { credential: credentialJSON(credential) });
      window.location.assign(answer.redirect);
    }

    function failed(error) {
      if (error && error.name === "AbortError") return; // replaced by the button's request
      show(status, error.fromPanel ? error.message : browserMessage(error, false));
    }

    if (!supported) return show(status, UNSUPPORTED);
    button.disabled = false;
    button.addEventListener("click", function () {
      show(status, "");
      button.disabled = true;
      signIn(false).catch(failed).finally(function () { button.disabled = false; });
    });
    if (PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        // The browser may end this background request on its own (no passkey for this site):
        // only the panel's refusals of a passkey the user picked are worth telling.
        if (available) signIn(true).catch(function (error) { if (error.fromPanel) failed(error); });
      });
    }
  }

  // Re-authentication (sudo mode) with a passkey: prove it is you, then send the form that asked, as it was.
  function setUpReauth(box) {
    const status = box.querySelector("[data-passkey-status]");
    const button = box.querySelector("button");
    if (!supported || box.dataset.ready) return;
    box.dataset.ready = "true";
    button.hidden = false;
    button.addEventListener("click", async function () {
      show(status, "");
      button.disabled = true;
      try {
        const options = await post(box.dataset.optionsUrl, {});
        options.challenge = toBytes(options.challenge);
        options.allowCredentials = withBytes(options.allowCredentials);
        const credential = await navigator.credentials.get({ publicKey: options });
        await post(box.dataset.finishUrl, { credential: credentialJSON(credential) });
        const form = document.getElementById(box.dataset.form);
        form.querySelector("input[name=_reauth]").remove(); // proven now: the action runs as submitted
        form.submit();
      } catch (error) {
        show(status, error.fromPanel ? error.message : browserMessage(error, false));
        button.disabled = false;
      }
    });
  }

  document.querySelectorAll("form[data-passkey-register]").forEach(setUpRegistration);
  document.querySelectorAll("[data-passkey-reauth]").forEach(setUpReauth);
  // The prompt can also arrive in a dialog (htmx): its form.submit() then posts as a page, and the
  // action's answer (a redirect) replaces the whole window.
  document.body.addEventListener("htmx:load", function (event) {
    const added = event.detail.elt;
    if (added.matches("[data-passkey-reauth]")) setUpReauth(added);
    added.querySelectorAll("[data-passkey-reauth]").forEach(setUpReauth);
  });
  document.querySelectorAll("[data-passkey-login]").forEach(setUpLogin);
})();
