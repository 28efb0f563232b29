package commands

// creditsRoutes are the routes of /credits (issue 9): none until they are built.
func (r *Router) creditsRoutes() []Route { return nil }
