package commands

// sceneRoutes are the routes of /scene import, list and remove (issue 9): none until they are built.
func (r *Router) sceneRoutes() []Route { return nil }
