"""Infrastructure behind interfaces: where mail goes and where background jobs run. Each module
offers a Protocol the services use and the implementations ``app.wiring`` chooses from; none of
it knows Flask, the database or the services."""
