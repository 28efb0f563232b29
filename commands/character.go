package commands

// characterRoutes are the routes of /character create, list, delete and share (issue 9): none until they are built.
func (r *Router) characterRoutes() []Route { return nil }
