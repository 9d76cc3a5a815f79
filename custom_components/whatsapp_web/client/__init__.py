"""An asyncio client for WhatsApp Web that drives a real Chromium page.

This package imports nothing from Home Assistant: it could be published on its own.
"""
