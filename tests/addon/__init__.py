"""Tests of the remote-browser add-on in addon/."""
