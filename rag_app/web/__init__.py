"""The web app for people (ask, source viewer, library, search), served by the API's own
process: plain HTML pages and small ES modules under ``static/`` calling the JSON API, a
sealed-cookie sign-in, and the server side the viewer needs (page images, quote boxes)."""
