"""Server-rendered web pages (dashboard, notifications, agent detail, mind map) kept live by
small ES modules that speak the realtime protocol of `/realtime/v1/websocket`."""
