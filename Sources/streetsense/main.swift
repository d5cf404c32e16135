print("streetsense")
