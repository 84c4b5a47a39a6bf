#!/usr/bin/env python3
# notes_app.py: a small real Flask app, lesson 10's: a few notes, as JSON. The same file
# runs as a CGI script (the last lines) and in a pool (--wsgi notes=...:app).
from flask import Flask, abort, jsonify

app = Flask(__name__)

NOTES = {
    1: {"id": 1, "title": "CGI", "text": "a process per request"},
    2: {"id": 2, "title": "pool", "text": "processes that stay"},
}


@app.get("/notes")
def all_notes():
    return jsonify(sorted(NOTES.values(), key=lambda n: n["id"]))


@app.get("/notes/<int:note_id>")
def one_note(note_id):
    if note_id not in NOTES:
        abort(404)
    return jsonify(NOTES[note_id])


if __name__ == "__main__":
    from wsgiref.handlers import CGIHandler

    CGIHandler().run(app)
