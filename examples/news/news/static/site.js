// Kettle News: votes without a page reload. Without JavaScript the forms post and the
// server sends the reader back; with it, the vote is posted in the background
// (Accept: application/json) and the count and the button change in place.
"use strict";

document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (form.matches("[data-confirm]") && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    return;
  }
  if (!form.matches("form[data-vote]")) return;
  event.preventDefault();
  if (form.classList.contains("busy")) return;
  form.classList.add("busy");
  try {
    const response = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (response.status === 401) {
      window.location.href = "/auth/login?next=" + encodeURIComponent(location.pathname);
      return;
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      window.alert(data.detail || "Your vote could not be saved. Please try again.");
      return;
    }
    const button = form.querySelector("button");
    form.querySelector("[data-points]").textContent = data.points;
    button.classList.toggle("voted", data.voted);
    button.setAttribute("aria-pressed", String(data.voted));
    button.title = data.voted ? "Unvote" : "Upvote";
    const label = button.dataset.label || "";
    button.setAttribute("aria-label", (data.voted ? "Take back your vote for " : "Vote for ") + label);
  } catch (error) {
    form.submit(); // the network failed: fall back to the plain form post
  } finally {
    form.classList.remove("busy");
  }
});
