"""Tests of the WhatsApp Web integration, its client and the simulator."""
