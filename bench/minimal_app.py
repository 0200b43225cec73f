"""The yardstick for bench/load.py: the smallest Flask page, served by gunicorn exactly like
Forum, so the ratio between the two says what Forum's own work costs (not gunicorn's, the
network's or the load generator's)."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "<!doctype html><title>Hello</title><p>Hello, world.</p>"
