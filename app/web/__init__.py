"""The browser viewer: trame app, its panels, and the JavaScript that animates locally."""
