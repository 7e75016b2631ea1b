"""Socket Mode for Mattermost: handlers for clicks, dialogs, lookups and slash commands, for bots
that only hold a websocket. See the README (libs/python/README.md).

    from mattermost_socket_mode import App, button

    app = App("https://chat.example.com", token)

    @app.action("approve")
    def approve(event):
        return {"update": {"message": f"Approved by @{event.user_name}"}}

    app.run()
"""

from ._version import __version__
from .answers import AnswerError
from .app import App, Command
from .backoff import Backoff
from .events import Delivery, Event, Proxy
from .messages import button, menu
from .protocol import PLUGIN_ID
from .rest import ApiError

__all__ = [
    "__version__",
    "AnswerError",
    "ApiError",
    "App",
    "Backoff",
    "Command",
    "Delivery",
    "Event",
    "PLUGIN_ID",
    "Proxy",
    "button",
    "menu",
]
