"""Acceptance: the unmodified whatsapp-web.js npm package against the simulator (issue 3, §3)."""
