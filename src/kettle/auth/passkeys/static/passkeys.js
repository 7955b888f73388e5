// kettle.auth passkeys: the browser half of the WebAuthn ceremonies.
//
// Every element with data-passkey="register|login|second-factor" is a ceremony: it
// names the JSON endpoints (data-options, data-verify) and carries the CSRF token
// (data-csrf). Elements stay hidden unless the browser has WebAuthn; then the
// [data-passkey-unsupported] notes are hidden instead. No inline script: the pages run
// under a strict Content-Security-Policy.
//
// The sentences this script shows come from the page, in its language: data-message-*
// attributes of the ceremony's element (auth/_passkey_messages.html), with English
// fallbacks here. The server's refusals ({"detail": ...}) are translated by the server.
//
// On the login page, a browser with conditional mediation also offers the passkeys in the
// username field's autofill (the field gets the "webauthn" autocomplete token): picking
// one signs in as the button does. Pressing the button cancels that quiet request first,
// since a browser runs one WebAuthn request at a time.
(() => {
  "use strict";

  const toBytes = (text) => {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
  };

  const toText = (buffer) => {
    let binary = "";
    for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };

  // The server's options, with the binary fields made ArrayBuffers.
  const creationOptions = (json) => ({
    ...json,
    challenge: toBytes(json.challenge),
    user: { ...json.user, id: toBytes(json.user.id) },
    excludeCredentials: (json.excludeCredentials || []).map((c) => ({ ...c, id: toBytes(c.id) })),
  });

  const requestOptions = (json) => ({
    ...json,
    challenge: toBytes(json.challenge),
    allowCredentials: (json.allowCredentials || []).map((c) => ({ ...c, id: toBytes(c.id) })),
  });

  // The authenticator's answer as JSON, binary fields as base64url.
  const answer = (credential) => {
    const r = credential.response;
    const response = { clientDataJSON: toText(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toText(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toText(r.authenticatorData);
      response.signature = toText(r.signature);
      if (r.userHandle) response.userHandle = toText(r.userHandle);
    }
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
    };
  };

  // A sentence of the page (data-message-<name>), "{name}" placeholders filled in.
  const say = (element, name, fallback, values = {}) => {
    const text = element.dataset["message" + name[0].toUpperCase() + name.slice(1)] || fallback;
    return text.replace(/\{(\w+)\}/g, (whole, field) => (field in values ? values[field] : whole));
  };

  const post = async (element, url, body) => {
    const sent = fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRF-Token": element.dataset.csrf,
      },
      body: JSON.stringify(body),
    });
    const reply = await sent.catch(() => {
      throw new Error(
        say(element, "offline", "The site could not be reached. Check your connection and try again."),
      );
    });
    const data = await reply.json().catch(() => ({}));
    if (!reply.ok) {
      const status = String(reply.status);
      throw new Error(data.detail || say(element, "status", "The server answered {status}.", { status }));
    }
    return data;
  };

  // What went wrong, for the person: the browser's WebAuthn errors (DOMException, in the
  // browser's own words) become the page's sentences; the server's refusals stay as sent.
  const problemOf = (element, error) => {
    if (!(error instanceof DOMException)) return error.message;
    switch (error.name) {
      case "NotAllowedError":
      case "AbortError":
        return say(
          element,
          "cancelled",
          "The passkey request was cancelled or timed out. Try again when you are ready.",
        );
      case "InvalidStateError":
        return say(element, "exists", "This authenticator already holds a passkey for your account here.");
      case "NotSupportedError":
        return say(
          element,
          "unsupported",
          "This browser or authenticator cannot make the kind of passkey this site asks for. Use another device, or another way to sign in.",
        );
      default:
        return say(
          element,
          "refused",
          "The browser stopped the passkey request ({reason}). Try again, or use another way to sign in.",
          { reason: error.name },
        );
    }
  };

  const ceremonies = {
    async register(element) {
      const name = element.querySelector("[name=name]").value.trim();
      const typed = element.querySelector("[name=password]");
      const body = typed ? { name, password: typed.value } : { name };
      const options = await post(element, element.dataset.options, body);
      if (typed) typed.value = "";
      const credential = await navigator.credentials.create({
        publicKey: creationOptions(options.publicKey),
      });
      return post(element, element.dataset.verify, { credential: answer(credential) });
    },
    async login(element, extra = {}) {
      const options = await post(element, element.dataset.options, {});
      const credential = await navigator.credentials.get({
        publicKey: requestOptions(options.publicKey),
        ...extra,
      });
      const body = { credential: answer(credential), next: element.dataset.next || "" };
      return post(element, element.dataset.verify, body);
    },
    async "second-factor"(element) {
      const options = await post(element, element.dataset.options, {});
      const credential = await navigator.credentials.get({
        publicKey: requestOptions(options.publicKey),
      });
      return post(element, element.dataset.verify, { credential: answer(credential) });
    },
  };

  // The login element's pending autofill request, cancelled when its button is pressed.
  let autofill = null;

  const offerInAutofill = async (element) => {
    const field = document.querySelector("input[name=username]");
    const available = PublicKeyCredential.isConditionalMediationAvailable;
    if (!field || !available || !(await available.call(PublicKeyCredential))) return;
    const tokens = (field.getAttribute("autocomplete") || "username").split(/\s+/);
    if (!tokens.includes("webauthn")) {
      field.setAttribute("autocomplete", [...tokens, "webauthn"].join(" "));
    }
    const controller = new AbortController();
    autofill = controller;
    try {
      const extra = { mediation: "conditional", signal: controller.signal };
      const done = await ceremonies.login(element, extra);
      window.location.assign(done.redirect);
    } catch (error) {
      if (controller.signal.aborted) return; // the button took over
      const problem = element.querySelector("[data-passkey-error]");
      problem.textContent = problemOf(element, error);
      problem.hidden = false;
    } finally {
      if (autofill === controller) autofill = null;
    }
  };

  const run = async (element, button) => {
    if (autofill) autofill.abort();
    const problem = element.querySelector("[data-passkey-error]");
    problem.hidden = true;
    button.disabled = true;
    element.setAttribute("aria-busy", "true");
    try {
      const done = await ceremonies[element.dataset.passkey](element);
      window.location.assign(done.redirect);
    } catch (error) {
      problem.textContent = problemOf(element, error);
      problem.hidden = false;
      button.disabled = false;
      element.removeAttribute("aria-busy");
    }
  };

  const start = () => {
    if (!window.PublicKeyCredential || !navigator.credentials) return;
    for (const note of document.querySelectorAll("[data-passkey-unsupported]")) note.hidden = true;
    for (const element of document.querySelectorAll("[data-passkey]")) {
      const button = element.querySelector("button");
      element.hidden = false;
      const go = (event) => {
        event.preventDefault();
        run(element, button);
      };
      if (element.tagName === "FORM") element.addEventListener("submit", go);
      else button.addEventListener("click", go);
      if (element.dataset.passkey === "login") offerInAutofill(element);
    }
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
