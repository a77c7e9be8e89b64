import ArgumentParser
print("djdeploy")
