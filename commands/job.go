package commands

// jobRoutes are the routes of /job and its Re-render button (issue 9): none until they are built.
func (r *Router) jobRoutes() []Route { return nil }
