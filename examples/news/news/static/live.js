// Kettle News: live pages. A page that names a socket in <meta name="news-live"> (an
// article, a list) opens it and applies what the server announces (see news/live.py):
// vote counts change in place and new comments appear, without a reload. Without
// JavaScript, or without WebSocket support, the page is the same, just not live.
"use strict";

(() => {
  const meta = document.querySelector('meta[name="news-live"]');
  if (!meta || !("WebSocket" in window)) return;
  const url = new URL(meta.content, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const csrf = document.querySelector('meta[name="csrf-token"]');
  const PING_EVERY = 30_000; // the server closes sockets silent for 75 s
  let delay = 1_000; // the pause before reconnecting: doubles up to a minute
  let pinger = 0;

  function points(selector, value) {
    const element = document.querySelector(selector);
    if (element) element.textContent = value;
  }

  function votes(message) {
    if (message.id !== undefined) {
      points(`#a${message.id} [data-points]`, message.points);
    } else {
      points(`#c${message.comment} > .comment-head [data-points]`, message.points);
    }
  }

  function comments(message) {
    const text = message.count === 1 ? "1 comment" : `${message.count} comments`;
    const title = document.getElementById("comments-title");
    if (title) title.textContent = text;
    const link = document.querySelector(`#a${message.id} .comments-link`);
    if (link && link.lastChild) link.lastChild.textContent = text; // after the icon
  }

  function thread(parent) {
    // The list the comment goes in: its parent's replies, or the article's comments.
    const owner = parent === null ? document.querySelector("section.comments") : document.getElementById(`c${parent}`);
    if (!owner) return null; // the parent is not on this page (hidden from this reader)
    let list = owner.querySelector(":scope > ul.thread");
    if (!list) {
      list = document.createElement("ul");
      list.className = "thread";
      owner.append(list);
    }
    return list;
  }

  function comment(message) {
    if (document.getElementById(`c${message.id}`)) return; // already shown (the author's reload)
    const list = thread(message.parent);
    if (!list) return;
    const template = document.createElement("template");
    template.innerHTML = csrf ? message.member_html : message.html;
    for (const field of template.content.querySelectorAll("input[data-live-csrf]")) {
      field.value = csrf.content;
      field.removeAttribute("data-live-csrf");
    }
    const item = template.content.firstElementChild;
    if (!item) return;
    list.append(item);
  }

  function connect() {
    const socket = new WebSocket(url);
    socket.addEventListener("open", () => {
      delay = 1_000;
      document.documentElement.dataset.live = "open"; // for styles and tests
      pinger = window.setInterval(() => {
        if (socket.readyState === WebSocket.OPEN) socket.send('{"type":"ping"}');
      }, PING_EVERY);
    });
    socket.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.type === "votes") votes(message);
      else if (message.type === "comment") comment(message);
      else if (message.type === "comments") comments(message);
    });
    socket.addEventListener("close", () => {
      window.clearInterval(pinger);
      document.documentElement.dataset.live = "closed";
      // Server restarts and network changes: try again, less often each time.
      window.setTimeout(connect, delay * (0.5 + Math.random()));
      delay = Math.min(delay * 2, 60_000);
    });
  }

  connect();
})();
