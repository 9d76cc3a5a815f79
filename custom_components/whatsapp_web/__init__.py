"""WhatsApp Web for Home Assistant: link an account the way WhatsApp Web does."""
