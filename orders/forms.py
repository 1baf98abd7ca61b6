from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from core.forms import ServiceSaveForm
from customers.errors import InactiveCustomer
from customers.forms import customer_field
from orders.errors import InactiveProduct, InvalidQuantity, TargetMismatch
from orders.models import Order, Product

# Which field a refused order's message belongs to; anything else is shown above the form.
ERROR_FIELDS = {InvalidQuantity: "quantity", TargetMismatch: "target", InactiveProduct: "product", InactiveCustomer: "customer"}


class OrderPlaceForm(ServiceSaveForm):
    """The order to place (the admin calls order_place): a rule broken at save time (balance spent
    meanwhile, product deactivated) is a form error on its field and writes nothing."""

    # Declared rather than built from the model: the admin would wrap the product's select in links to add,
    # change and view products (four permission checks and URLs a page) that no one placing an order follows,
    # and build a customer select only for it to be replaced by the datalist.
    customer = customer_field(app_label=Order._meta.app_label, model_name=Order._meta.model_name)
    product = forms.ModelChoiceField(Product.objects.filter(is_active=True), label=capfirst(_("product")))
    quantity = forms.IntegerField(label=capfirst(_("quantity")), min_value=1)

    class Meta:
        model = Order
        fields = ["customer", "product", "quantity", "target", "memo"]

    class Media:
        js = ("orders/order_preview.js",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Offer active products; accept any on submit so a product deactivated meanwhile gets the service's message.
        self.fields["product"].queryset = Product.objects.all() if self.is_bound else Product.objects.filter(is_active=True)

    def error_field(self, error):
        return next((field for cls, field in ERROR_FIELDS.items() if isinstance(error, cls)), super().error_field(error))


class MyOrderPlaceForm(OrderPlaceForm):
    """A customer's own order: the customer is the signed-in one."""

    customer = None

    class Meta(OrderPlaceForm.Meta):
        fields = ["product", "quantity", "target", "memo"]
