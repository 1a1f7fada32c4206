"""What people look at: terminal rendering, the live dashboard, diagrams, notebook pictures."""
