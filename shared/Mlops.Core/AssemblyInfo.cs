// Placeholder so the project builds before its code lands.
