"""Word lists and the generators that turn them into usernames, titles, links and comments.

Everything takes a ``random.Random``, so one seed always writes the same site. The lists
are small on purpose: combined, they give thousands of different titles that read like a
technology news site, not like lorem ipsum::

    rng = random.Random(1865)
    headline(rng)   # ("Why we moved our build cache to SQLite", "https://lwn.net/...")
"""

from __future__ import annotations

import random
import re
from collections.abc import Collection

FIRST = (
    "ada", "alan", "amir", "ana", "anja", "ben", "bruno", "carla", "chen", "dana", "dmitri",
    "elif", "emma", "farah", "felix", "grace", "hana", "ivan", "jonas", "julia", "kenji",
    "lars", "leila", "lin", "luca", "maya", "mei", "nadia", "nils", "noor", "omar", "paula",
    "priya", "rafael", "rosa", "sam", "sara", "tariq", "theo", "uma", "vera", "wei", "yusuf",
    "zoe",
)  # fmt: skip
HANDLE_WORDS = (
    "kettle", "teapot", "packet", "kernel", "lambda", "vector", "cipher", "socket", "pixel",
    "parser", "thread", "cache", "daemon", "compiler", "monad", "mutex", "router", "tensor",
    "fork", "heap", "stack", "signal", "buffer", "quartz", "delta", "orbit", "graph", "shell",
)  # fmt: skip
ADJECTIVES = (
    "fast", "tiny", "boring", "quiet", "lazy", "brave", "bold", "simple", "strange",
    "minimal", "reliable", "portable", "forgotten", "surprising", "hidden", "practical",
    "modern", "old-school", "distributed", "incremental", "declarative", "open",
)  # fmt: skip
TECH = (
    "Python", "Rust", "Go", "SQLite", "PostgreSQL", "WebAssembly", "Linux", "Kubernetes",
    "Zig", "OCaml", "Erlang", "Lisp", "TypeScript", "HTTP/3", "io_uring", "eBPF", "LLVM",
    "Nix", "Emacs", "Vim", "Git", "Redis", "Kafka", "ZFS", "RISC-V", "the JVM", "CUDA",
)  # fmt: skip
THINGS = (
    "build cache", "text editor", "garbage collector", "query planner", "static site",
    "package manager", "type checker", "job queue", "time-series database", "web server",
    "spreadsheet", "search engine", "shell", "window manager", "compiler", "debugger",
    "file system", "scheduler", "CRDT", "parser", "bloom filter", "hash table", "kettle",
    "bread oven", "synthesizer", "e-reader", "weather station", "mechanical keyboard",
)  # fmt: skip
VERBS = (
    "rewrote", "replaced", "benchmarked", "debugged", "shipped", "deleted", "open-sourced",
    "reverse-engineered", "profiled", "migrated", "simplified", "built",
)  # fmt: skip
TOPICS = (
    "remote work", "the history of Unix", "open-source funding", "on-call rotations",
    "code review", "technical debt", "estimation", "the 4-day week", "bike commuting",
    "home labs", "tea chemistry", "city planning", "right to repair", "privacy law",
    "solar power", "retro computing", "typography", "chess engines", "space probes",
)  # fmt: skip
DOMAINS = (
    "github.com", "lwn.net", "arxiv.org", "blog.acolyer.org", "jvns.ca", "danluu.com",
    "martinfowler.com", "research.swtch.com", "rachelbythebay.com", "nature.com",
    "arstechnica.com", "theregister.com", "quantamagazine.org", "bbc.co.uk", "nytimes.com",
    "economist.com", "wired.com", "sqlite.org", "postgresql.org", "python.org",
    "rust-lang.org", "go.dev", "eli.thegreenplace.net", "fly.io", "tailscale.com",
    "cloudflare.com", "engineering.fb.com", "netflixtechblog.com", "stripe.com",
    "simonwillison.net", "kettle-news.substack.com", "medium.com", "dev.to", "youtube.com",
)  # fmt: skip
TITLES = (
    "Why we {verb} our {thing} in {tech}",
    "The {adj} history of the {thing}",
    "Show News: A {adj} {thing} written in {tech}",
    "How {tech} handles {thing} internals",
    "{tech} {version} released",
    "I {verb} a {thing} and learned about {topic}",
    "A {adj} guide to {topic} with {tech}",
    "Notes on {topic} from a {adj} {thing} team",
    "{tech} {version}: a {adj} {thing} at last",
    "Ten {adj} lessons from running {tech} in production",
    "Scaling a {thing} to a billion rows with {tech}",
    "What I learned when I {verb} a {thing} for {topic}",
    "What {tech} gets right about {thing}s",
    "We {verb} our {thing}; here is what happened",
    "The case for a {adj} {thing}",
    "Lessons from ten years of {topic} and {tech}",
    "Building a {thing} from scratch in {tech}",
    "{tech} is {adj} now",
)
ASK_TITLES = (
    "Ask News: How do you handle {topic} in a {adj} team?",
    "Ask News: Is {tech} worth learning in {year} for a {thing}?",
    "Ask News: What is your {adj} {thing} setup?",
    "Ask News: Best resources on {topic} and {tech}?",
    "Ask News: Has anyone {verb} a {thing} in {tech}?",
    "Tell News: I {verb} my {thing} in {tech}",
    "Tell News: {tech} {version} {verb} our {thing}",
)
OPINIONS = (
    "I {verb} a {thing} like this at my last job and it worked well.",
    "The part about {topic} matches what I have seen.",
    "{tech} is {adj}, but the tooling around it is what matters.",
    "Has anyone measured this against {tech}?",
    "This is the {adj} kind of engineering I like to read about.",
    "I disagree: a {adj} {thing} is usually enough.",
    "The benchmarks would be more convincing with a cold cache.",
    "We tried {tech} for our {thing} and went back after a month.",
    "Great write-up, thanks for sharing.",
    "The real problem is {topic}, not the {thing}.",
    "Interesting that nobody mentions {topic} here.",
    "Reminds me of the {adj} {thing} from the nineties.",
    "Is the source available somewhere?",
    "Counterpoint: most teams never need a {thing} at all.",
    "I wish more posts showed the numbers like this one does.",
)
REPLIES = (
    "Agreed, and the docs say as much.",
    "That was true before {tech} {version}, not any more.",
    "Do you have a link for that?",
    "Same experience here, especially with {topic}.",
    "Not in my experience; it depends on the {thing}.",
    "Fair point. I had not thought about {topic}.",
    "This. So much this.",
    "Which version of {tech} was that?",
)


_AN = re.compile(r"\b([Aa]) ([aeiouAEIOU])")


def _fill(rng: random.Random, template: str) -> str:
    text = template.format(
        verb=rng.choice(VERBS),
        thing=rng.choice(THINGS),
        tech=rng.choice(TECH),
        adj=rng.choice(ADJECTIVES),
        topic=rng.choice(TOPICS),
        version=f"{rng.randint(1, 9)}.{rng.randint(0, 20)}",
        year=rng.choice((2025, 2026)),
    )
    return _AN.sub(r"\1n \2", text)  # "a old-school kettle" -> "an old-school kettle"


def usernames(rng: random.Random, count: int, taken: Collection[str] = ()) -> list[str]:
    """COUNT different usernames ("grace_hopper42"-like), none of them in TAKEN nor
    looking like one there (``kettle.auth.usernames.username_key``)."""
    from kettle.auth.usernames import username_key

    found: dict[str, None] = {}
    keys = {username_key(name) for name in taken}
    while len(found) < count:
        style = rng.random()
        if style < 0.4:
            name = f"{rng.choice(FIRST)}{rng.randint(1, 999)}"
        elif style < 0.75:
            name = f"{rng.choice(ADJECTIVES).replace('-', '')}_{rng.choice(HANDLE_WORDS)}"
        else:
            name = f"{rng.choice(FIRST)}.{rng.choice(HANDLE_WORDS)}{rng.randint(0, 99)}"
        key = username_key(name)
        if key not in keys:
            keys.add(key)
            found[name] = None
    return list(found)


def headline(rng: random.Random) -> tuple[str, str | None, str, str]:
    """(title, url, domain, body) of one submission: most are links, some text posts."""
    if rng.random() < 0.18:
        title = _fill(rng, rng.choice(ASK_TITLES))
        return title, None, "", paragraph(rng, rng.randint(2, 5))
    title = _fill(rng, rng.choice(TITLES))
    domain = rng.choice(DOMAINS)
    slug = "-".join(word.strip(":;,?").lower() for word in title.split()[:6])
    return title, f"https://{domain}/{rng.randint(2019, 2026)}/{slug}", domain, ""


def paragraph(rng: random.Random, sentences: int) -> str:
    """A few sentences of opinion, for text posts and top-level comments."""
    return " ".join(_fill(rng, rng.choice(OPINIONS)) for _ in range(sentences))


def comment(rng: random.Random) -> str:
    """A top-level comment: one to three sentences of opinion."""
    return paragraph(rng, rng.randint(1, 3))


def reply(rng: random.Random) -> str:
    """A short answer to another comment."""
    text = _fill(rng, rng.choice(REPLIES))
    return text if rng.random() < 0.6 else f"{text} {_fill(rng, rng.choice(OPINIONS))}"
