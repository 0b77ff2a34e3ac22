"""Dialogs of the main window: shortcuts, settings, import and export."""
