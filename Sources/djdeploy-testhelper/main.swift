import WizardCore
print("djdeploy-testhelper")
