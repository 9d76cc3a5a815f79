"""Benchmarks and soaks: this client against whatsapp-web.js on the same simulator (not pytest)."""
